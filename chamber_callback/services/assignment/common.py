"""What the assignment engine's modules share: settings, the conflict error, the agent's lock,
what an agent holds, and its availability changes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from ...domain.actors import Actor
from ...domain.lifecycle import Status
from ...domain.routing import Availability
from ...extensions import db
from ...models import CallbackRequest, StaffUser
from ..audit import record_event

HELD_STATUSES = (Status.OFFERED.value, Status.IN_CALL.value)
# An agent who declined or let expire a request is not offered it again for this long.
EXCLUSION_WINDOW = timedelta(minutes=15)


class AssignmentConflict(Exception):
    """The action does not apply any more (offer expired, request held by someone else…)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Settings:
    offer_timeout: timedelta
    max_missed_offers: int
    overflow_after: timedelta
    retry_gap: timedelta
    max_attempts: int

    @classmethod
    def from_config(cls) -> Settings:
        from .. import settings

        config = current_app.config
        return cls(
            offer_timeout=timedelta(seconds=settings.get("OFFER_TIMEOUT_SECONDS")),
            max_missed_offers=config["MAX_MISSED_OFFERS"],
            overflow_after=timedelta(minutes=config["OVERFLOW_AFTER_MINUTES"]),
            retry_gap=timedelta(minutes=settings.get("RETRY_GAP_MINUTES")),
            max_attempts=settings.get("MAX_ATTEMPTS"),
        )


def held_count(agent_id: int) -> int:
    """Requests offered to or taken by the agent right now."""
    return db.session.scalar(
        select(func.count()).select_from(CallbackRequest).where(
            CallbackRequest.assigned_agent_id == agent_id, CallbackRequest.status.in_(HELD_STATUSES))
    )


def lock_agent(agent_id: int) -> StaffUser | None:
    """The agent's row, locked until commit on PostgreSQL (SQLite's write lock covers it): one
    agent's claims are serialised, so its capacity is never exceeded."""
    return db.session.scalar(
        select(StaffUser).where(StaffUser.id == agent_id).with_for_update().execution_options(populate_existing=True)
    )


def change_availability(agent: StaffUser, state: Availability, *, actor: Actor, now: datetime,
                        reason: str | None = None) -> None:
    """Record an availability change (in the caller's transaction), with its audit event."""
    if agent.availability == state.value:
        return
    record_event(request_id=None, action="agent.availability", actor=actor, now=now, staff_user_id=agent.id,
                 from_status=agent.availability, to_status=state.value, reason=reason)
    agent.availability = state.value
    agent.availability_since = now


def available_after_call(agent: StaffUser, now: datetime) -> bool:
    """A busy agent with nothing left in hand is available again (True when that happened)."""
    db.session.flush()
    if agent.availability == Availability.BUSY.value and held_count(agent.id) == 0:
        change_availability(agent, Availability.AVAILABLE, actor=Actor.staff(agent.id), now=now, reason="call ended")
        return True
    return False
