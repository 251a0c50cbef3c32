"""Audit events: who did what, when and why."""
from __future__ import annotations

from datetime import datetime

from ..domain.actors import Actor
from ..extensions import db
from ..models import AuditEvent


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


def record_export(*, user_id: int, what: str, filters: dict, personal_data: bool, now: datetime) -> None:
    """Who took which data out, with or without personal data (shown in the admin journal)."""
    from .unit_of_work import unit_of_work

    with unit_of_work():
        record_event(request_id=None, action=f"export.{what}", actor=Actor.staff(user_id), now=now,
                     staff_user_id=user_id, data={"filters": filters, "personal_data": personal_data})


def record_read(*, user_id: int, request_id: int, now: datetime) -> None:
    """A staff member opened a request's personal data (its card): kept ``RETENTION_AUDIT_DAYS``."""
    from .retention import READ_ACTION
    from .unit_of_work import unit_of_work

    with unit_of_work():
        record_event(request_id=request_id, action=READ_ACTION, actor=Actor.staff(user_id), now=now,
                     staff_user_id=user_id)
