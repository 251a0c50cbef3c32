"""Who did something, as audit events record it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did it: ``staff`` (with the account id), ``artisan``, ``api`` (a partner) or ``system``."""

    type: str  # artisan | api | staff | system
    id: str | None = None

    @classmethod
    def staff(cls, user_id: int) -> Actor:
        """A staff member, whatever the role: the one way to record one as the actor."""
        return cls(STAFF, str(user_id))

    @property
    def staff_user_id(self) -> int | None:
        return int(self.id) if self.type == STAFF and (self.id or "").isdigit() else None


STAFF = "staff"


ARTISAN = Actor("artisan")
API_CLIENT = Actor("api")
SYSTEM = Actor("system")
