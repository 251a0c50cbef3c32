"""Status changes: one conditional UPDATE per move, with its audit event."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from ..domain.actors import Actor
from ..domain.lifecycle import TERMINAL_STATUSES, Status, can_transition
from ..domain.messages import RESOLUTION_WORDS
from ..extensions import db
from ..models import CallbackRequest
from .audit import record_event


def transition(request: CallbackRequest, target: Status, *, actor: Actor, now: datetime,
               reason: str | None = None, action: str | None = None) -> bool:
    """Move ``request`` to ``target`` if its current state allows it, atomically.

    The UPDATE matches only the state the move was decided from (compare-and-set), so a
    concurrent change, such as an agent taking the call while the artisan cancels, is seen:
    the state is re-read and the move decided again. Returns False, writing nothing, when
    the move is not allowed. The caller owns the transaction.
    """
    for _ in range(3):
        current = request.status
        if not can_transition(current, target):
            return False
        values = {"status": target.value}
        if target in TERMINAL_STATUSES:
            values["closed_at"] = now
            values["next_escalation_at"] = None  # nothing is escalated once a request is closed
        result = db.session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == request.id, CallbackRequest.status == current)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        db.session.refresh(request)
        if result.rowcount == 1:
            record_event(request_id=request.id, action=action or f"status.{target.value}", actor=actor, now=now,
                         from_status=current, to_status=target.value, reason=reason)
            if target in TERMINAL_STATUSES:
                from .sla import resolve_escalations  # sla builds on lifecycle: imported late

                resolve_escalations(request, now, RESOLUTION_WORDS[target.value])
            return True
    return False
