"""Pulling: the agent takes the next call itself (the same atomic claim as an accepted offer),
or gives back a call it took but did not dial."""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ...domain.actors import Actor
from ...domain.lifecycle import Status
from ...domain.routing import Availability
from ...extensions import db
from ...models import CallAttempt, CallbackRequest, Offer, StaffUser
from ...queues import enqueue_assignment
from ..audit import record_event
from ..lifecycle import transition
from ..unit_of_work import unit_of_work
from .common import AssignmentConflict, available_after_call, change_availability, held_count, lock_agent
from .offers import claim_queued, offer_next_to_agent, work_for

PHONE_LINE = Actor("system", "phone-line")


def claim_next(agent: StaffUser, now: datetime) -> CallbackRequest | None:
    """The agent pulls the next call itself: the best waiting request it may take, in its order."""
    with unit_of_work():
        agent = lock_agent(agent.id)
        if held_count(agent.id) >= agent.capacity:
            raise AssignmentConflict(_("Vous avez déjà autant d'appels en cours que votre capacité le permet."))
        taken = None
        for request_id in work_for(agent, now, exclude_recent=False, limit=1, lock=True):
            if claim_queued(request_id, agent.id, Status.IN_CALL, now):
                record_event(request_id=request_id, action="request.pulled", actor=Actor.staff(agent.id), now=now,
                             from_status=Status.QUEUED.value, to_status=Status.IN_CALL.value, staff_user_id=agent.id)
                agent.missed_offers = 0
                change_availability(agent, Availability.BUSY, actor=Actor.staff(agent.id), now=now,
                                    reason="call pulled")
                taken = request_id
                break
    return db.session.get(CallbackRequest, taken) if taken else None


def claim_for(agent_id: int, request_id: int, now: datetime, *, reason: str) -> CallbackRequest | None:
    """This request becomes this agent's call now (the phone line's direct connection), by the same
    atomic claim as a pull; None when it is no longer waiting or the agent has no room."""
    with unit_of_work():
        agent = lock_agent(agent_id)
        if agent is None or agent.availability != Availability.AVAILABLE.value or \
                held_count(agent.id) >= agent.capacity:
            return None
        if not claim_queued(request_id, agent.id, Status.IN_CALL, now):
            return None
        record_event(request_id=request_id, action="request.connected", actor=PHONE_LINE, now=now,
                     from_status=Status.QUEUED.value, to_status=Status.IN_CALL.value, staff_user_id=agent.id,
                     reason=reason)
        change_availability(agent, Availability.BUSY, actor=PHONE_LINE, now=now, reason=reason)
    return db.session.get(CallbackRequest, request_id, populate_existing=True)


def held_request(reference_or_id, agent: StaffUser) -> CallbackRequest:
    """The request, locked, if this agent holds it (the caller has locked the agent first)."""
    column = CallbackRequest.reference if isinstance(reference_or_id, str) else CallbackRequest.id
    request = db.session.scalar(select(CallbackRequest).where(column == reference_or_id).with_for_update()
                                .execution_options(populate_existing=True))
    if request is None:
        raise LookupError(reference_or_id)
    if request.status != Status.IN_CALL.value or request.assigned_agent_id != agent.id:
        raise AssignmentConflict(_("Vous ne tenez pas cette demande : acceptez-la ou prenez-la d'abord."))
    return request


def release_request(reference_or_id, agent: StaffUser, now: datetime, reason: str | None = None) -> None:
    """The agent gives back a call it took but did not dial: it returns to the queue."""
    with unit_of_work() as work:
        lock_agent(agent.id)
        request = held_request(reference_or_id, agent)
        if not release_held(request, actor=Actor.staff(agent.id), now=now, reason=reason):
            raise AssignmentConflict(_("Enregistrez d'abord le résultat de l'appel en cours."))
        # Recorded as a declined offer, so the request goes to someone else first.
        db.session.add(Offer(request_id=request.id, agent_id=agent.id, status="declined", created_at=now,
                             expires_at=now, responded_at=now))
        work.after_commit(enqueue_assignment, request.id)
        if available_after_call(agent, now):
            work.after_commit(offer_next_to_agent, agent.id, now)


def release_held(request: CallbackRequest, *, actor: Actor, now: datetime, reason: str | None) -> bool:
    """A call in hand but not dialled goes back to the queue (False while an attempt is open)."""
    if db.session.scalar(select(CallAttempt.id).where(CallAttempt.request_id == request.id,
                                                      CallAttempt.ended_at.is_(None))):
        return False
    if not transition(request, Status.QUEUED, actor=actor, now=now, action="request.released", reason=reason):
        return False
    request.assigned_agent_id = None
    request.assignment_checked_at = None
    return True
