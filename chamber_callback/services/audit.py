"""Audit events: who did what, when and why."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..extensions import db
from ..models import AuditEvent


@dataclass(frozen=True)
class Actor:
    type: str  # artisan | api | agent | system
    id: str | None = None


ARTISAN = Actor("artisan")
API_CLIENT = Actor("api")
SYSTEM = Actor("system")


def record_event(
    *,
    request_id: int | None,
    action: str,
    actor: Actor,
    now: datetime,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    data: dict | None = None,
    staff_user_id: int | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (the caller commits)."""
    event = AuditEvent(
        created_at=now,
        request_id=request_id,
        staff_user_id=staff_user_id,
        actor_type=actor.type,
        actor_id=actor.id,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        data=data,
    )
    db.session.add(event)
    return event
