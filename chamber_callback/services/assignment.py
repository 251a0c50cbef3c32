"""The assignment engine: offers, claims, attempts and outcomes.

Every claim is a conditional UPDATE in a write transaction (BEGIN IMMEDIATE on SQLite; the
agent's row locked FOR UPDATE on PostgreSQL, so one agent's claims are serialised and its
capacity is never exceeded). Redis only makes things happen sooner: offer expiry and retries
are scheduled RQ jobs, and the periodic tick (``dispatch_tick``) does the same work for any
job Redis lost.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..domain.actors import SYSTEM, Actor
from ..domain.lifecycle import REACHED_OUTCOMES, Outcome, Status, after_outcome
from ..domain.roles import TAKES_CALLS
from ..domain.routing import (
    AgentView,
    Availability,
    RequestView,
    rank_agents,
    should_overflow,
)
from ..extensions import begin_write, db
from ..models import CallAttempt, CallbackRequest, Offer, StaffUser, Topic, agent_skills
from ..queues import cancel_scheduled, enqueue_assignment, schedule_job
from .audit import record_event
from .lifecycle import transition
from .messages import add_message, enqueue_message
from .queue import queue_order
from .sla import rebuild_request_deadline, record_contact

log = logging.getLogger(__name__)

HELD_STATUSES = (Status.OFFERED.value, Status.IN_CALL.value)
# An agent who declined or let expire a request is not offered it again for this long.
EXCLUSION_WINDOW = timedelta(minutes=15)
# A minute of slack: RQ schedules in whole seconds and may run a job just before its time.
SCHEDULE_SLACK = timedelta(seconds=1)


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
        from . import settings

        config = current_app.config
        return cls(
            offer_timeout=timedelta(seconds=settings.get("OFFER_TIMEOUT_SECONDS")),
            max_missed_offers=config["MAX_MISSED_OFFERS"],
            overflow_after=timedelta(minutes=config["OVERFLOW_AFTER_MINUTES"]),
            retry_gap=timedelta(minutes=settings.get("RETRY_GAP_MINUTES")),
            max_attempts=settings.get("MAX_ATTEMPTS"),
        )


# --- reading state -------------------------------------------------------------------------

def held_count(agent_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(CallbackRequest).where(
            CallbackRequest.assigned_agent_id == agent_id, CallbackRequest.status.in_(HELD_STATUSES))
    )


def _lock_agent(agent_id: int) -> StaffUser | None:
    """The agent's row, locked until commit on PostgreSQL (SQLite's write lock covers it)."""
    return db.session.scalar(
        select(StaffUser).where(StaffUser.id == agent_id).with_for_update().execution_options(populate_existing=True)
    )


def _available_agents(request: CallbackRequest) -> list[AgentView]:
    query = select(StaffUser).where(
        StaffUser.availability == Availability.AVAILABLE.value,
        StaffUser.is_active_account.is_(True),
        StaffUser.role.in_(TAKES_CALLS),
    )
    if request.overflow_at is None:
        query = query.where(StaffUser.unit_id == request.unit_id)
    agents = db.session.scalars(query).all()
    if not agents:
        return []
    held = dict(db.session.execute(
        select(CallbackRequest.assigned_agent_id, func.count()).where(
            CallbackRequest.assigned_agent_id.in_([a.id for a in agents]),
            CallbackRequest.status.in_(HELD_STATUSES),
        ).group_by(CallbackRequest.assigned_agent_id)
    ).all())
    skills: dict[int, set[str]] = {}
    for user_id, code in db.session.execute(
        select(agent_skills.c.user_id, Topic.code).join(Topic, Topic.id == agent_skills.c.topic_id)
        .where(agent_skills.c.user_id.in_([a.id for a in agents]))
    ):
        skills.setdefault(user_id, set()).add(code)
    return [
        AgentView(id=a.id, unit_id=a.unit_id, skills=frozenset(skills.get(a.id, ())), capacity=a.capacity,
                  held=held.get(a.id, 0), availability=a.availability,
                  idle_since=a.availability_since or a.created_at)
        for a in agents
    ]


def _excluded_agents(request: CallbackRequest, now: datetime) -> frozenset[int]:
    """Agents who declined or let expire an offer of this request in the last minutes."""
    since = max(request.queued_at or request.submitted_at, now - EXCLUSION_WINDOW)
    return frozenset(db.session.scalars(
        select(Offer.agent_id).where(Offer.request_id == request.id, Offer.status.in_(("declined", "expired")),
                                     Offer.created_at >= since)
    ))


def _affinity(request: CallbackRequest) -> dict[int, int]:
    """Agents who already called this artisan (same phone or SIRET): agent id → attempts."""
    same_artisan = CallbackRequest.phone == request.phone
    if request.siret:
        same_artisan = or_(same_artisan, CallbackRequest.siret == request.siret)
    rows = db.session.execute(
        select(CallAttempt.agent_id, func.count()).join(CallbackRequest, CallbackRequest.id == CallAttempt.request_id)
        .where(same_artisan, CallbackRequest.id != request.id).group_by(CallAttempt.agent_id)
    ).all()
    return dict(rows)


def request_view(request: CallbackRequest, now: datetime) -> RequestView:
    return RequestView(
        id=request.id, unit_id=request.unit_id, topic=request.topic.code, urgent=request.urgent,
        sla_deadline=request.sla_deadline, overflow=request.overflow_at is not None,
        preferred_agent_id=request.preferred_agent_id, excluded_agent_ids=_excluded_agents(request, now),
        priority=request.priority,
    )


# --- offers ----------------------------------------------------------------------------------

def _claim_queued(request_id: int, agent_id: int, target: Status, now: datetime) -> bool:
    """The one claim: a queued request becomes the agent's (offered or in call), or nothing happens."""
    return db.session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == request_id, CallbackRequest.status == Status.QUEUED.value)
        .values(status=target.value, assigned_agent_id=agent_id, assignment_checked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def _make_offer(request_id: int, agent: StaffUser, now: datetime, settings: Settings) -> Offer | None:
    """Offer a queued request to an available agent with free capacity (caller holds the agent lock)."""
    if agent.availability != Availability.AVAILABLE.value or held_count(agent.id) >= agent.capacity:
        return None
    if db.session.scalar(select(Offer.id).where(Offer.agent_id == agent.id, Offer.status == "pending").limit(1)):
        return None  # one proposal at a time: the console shows one
    if not _claim_queued(request_id, agent.id, Status.OFFERED, now):
        return None
    offer = Offer(request_id=request_id, agent_id=agent.id, status="pending", created_at=now,
                  expires_at=now + settings.offer_timeout)
    db.session.add(offer)
    db.session.flush()
    record_event(request_id=request_id, action="request.offered", actor=SYSTEM, now=now,
                 from_status=Status.QUEUED.value, to_status=Status.OFFERED.value,
                 data={"agent_id": agent.id, "offer_id": offer.id}, staff_user_id=agent.id)
    return offer


def _after_offer_commit(offer: Offer | None) -> None:
    if offer is not None:
        schedule_job("chamber_callback.jobs.expire_offer", offer.id, job_id=f"offer-exp-{offer.id}",
                     at=offer.expires_at + SCHEDULE_SLACK)


def assign_request(request_id: int, now: datetime) -> int | None:
    """Offer one queued request to its best candidate. Returns the agent id, or None (it waits)."""
    settings = Settings.from_config()
    begin_write()
    request = db.session.get(CallbackRequest, request_id, populate_existing=True)
    if request is None or request.status != Status.QUEUED.value:
        db.session.commit()
        return None
    view = request_view(request, now)
    offer = None
    for candidate in rank_agents(view, _available_agents(request), _affinity(request)):
        agent = _lock_agent(candidate.id)
        offer = _make_offer(request.id, agent, now, settings)
        if offer is not None:
            break
    if offer is None:
        request.assignment_checked_at = now
    db.session.commit()
    _after_offer_commit(offer)
    return offer.agent_id if offer else None


def _next_request_query(agent: StaffUser, skill_ids: list[int], now: datetime | None = None):
    """Waiting requests this agent may take, in the agent's queue order (``domain.queue``).

    With ``now``, requests the agent just declined or let expire are left to others (offers);
    without it (the agent pulls a call itself) nothing is skipped.
    """
    conditions = [
        CallbackRequest.status == Status.QUEUED.value,
        CallbackRequest.topic_id.in_(skill_ids),
        or_(CallbackRequest.unit_id == agent.unit_id, CallbackRequest.overflow_at.is_not(None)),
    ]
    if now is not None:
        conditions.append(~select(Offer.id).where(
            Offer.request_id == CallbackRequest.id, Offer.agent_id == agent.id,
            Offer.status.in_(("declined", "expired")), Offer.created_at >= CallbackRequest.queued_at,
            Offer.created_at >= now - EXCLUSION_WINDOW,
        ).exists())
    return (
        select(CallbackRequest.id)
        .where(*conditions)
        .order_by(*queue_order(agent.id))
    )


def _skill_ids(agent: StaffUser) -> list[int]:
    return list(db.session.scalars(select(agent_skills.c.topic_id).where(agent_skills.c.user_id == agent.id)))


def offer_next_to_agent(agent_id: int, now: datetime) -> Offer | None:
    """An agent has room: offer it the best waiting request it can take, at once."""
    settings = Settings.from_config()
    begin_write()
    agent = _lock_agent(agent_id)
    offer = None
    if agent is not None and agent.availability == Availability.AVAILABLE.value:
        for request_id in db.session.scalars(_next_request_query(agent, _skill_ids(agent), now).limit(5)):
            offer = _make_offer(request_id, agent, now, settings)
            if offer is not None:
                break
    db.session.commit()
    _after_offer_commit(offer)
    return offer


def accept_offer(offer_id: int, agent: StaffUser, now: datetime) -> CallbackRequest:
    begin_write()
    _lock_agent(agent.id)
    accepted = db.session.execute(
        update(Offer).where(Offer.id == offer_id, Offer.agent_id == agent.id, Offer.status == "pending",
                            Offer.expires_at > now)
        .values(status="accepted", responded_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not accepted:
        db.session.rollback()
        raise AssignmentConflict("Cette proposition n'est plus valable (expirée ou déjà traitée).")
    offer = db.session.get(Offer, offer_id, populate_existing=True)
    request = db.session.get(CallbackRequest, offer.request_id, populate_existing=True)
    if request.status != Status.OFFERED.value or request.assigned_agent_id != agent.id:
        db.session.rollback()
        raise AssignmentConflict("Cette demande n'est plus disponible.")
    if not transition(request, Status.IN_CALL, actor=Actor.staff(agent.id), now=now, action="request.accepted"):
        db.session.rollback()
        raise AssignmentConflict("Cette demande n'est plus disponible.")
    agent.missed_offers = 0
    _set_availability(agent, Availability.BUSY, actor=Actor.staff(agent.id), now=now, reason="offer accepted")
    db.session.commit()
    cancel_scheduled(f"offer-exp-{offer_id}")
    return request


def decline_offer(offer_id: int, agent: StaffUser, now: datetime, reason: str | None = None) -> None:
    begin_write()
    declined = db.session.execute(
        update(Offer).where(Offer.id == offer_id, Offer.agent_id == agent.id, Offer.status == "pending")
        .values(status="declined", responded_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not declined:
        db.session.rollback()
        raise AssignmentConflict("Cette proposition n'est plus valable (expirée ou déjà traitée).")
    request_id = db.session.scalar(select(Offer.request_id).where(Offer.id == offer_id))
    _release_offered(request_id, agent_id=agent.id, actor=Actor.staff(agent.id), now=now,
                     action="request.declined", reason=reason)
    db.session.commit()
    cancel_scheduled(f"offer-exp-{offer_id}")
    enqueue_assignment(request_id)


def _release_offered(request_id: int, *, agent_id: int, actor: Actor, now: datetime, action: str,
                     reason: str | None = None) -> bool:
    """An offer ended without acceptance: the request returns to the queue, keeping its place.
    False when the request had already moved on (cancelled by the artisan, for instance)."""
    request = db.session.get(CallbackRequest, request_id, populate_existing=True)
    if request.status != Status.OFFERED.value or request.assigned_agent_id != agent_id:
        return False
    if not transition(request, Status.QUEUED, actor=actor, now=now, action=action, reason=reason):
        return False
    request.assigned_agent_id = None
    request.assignment_checked_at = None
    return True


def withdraw_offer(offer: Offer, *, actor: Actor, now: datetime, reason: str) -> None:
    """Take back a pending offer (not the agent's miss): the request waits again, keeping its place.
    The caller owns the transaction, then cancels the expiry job and enqueues the assignment."""
    offer.status, offer.responded_at = "withdrawn", now
    _release_offered(offer.request_id, agent_id=offer.agent_id, actor=actor, now=now,
                     action="request.offer_withdrawn", reason=reason)


def expire_offer(offer_id: int, now: datetime) -> bool:
    """Expire a pending offer past its deadline (idempotent). True when this call expired it."""
    settings = Settings.from_config()
    begin_write()
    agent_id = db.session.scalar(select(Offer.agent_id).where(Offer.id == offer_id))
    if agent_id is None:
        db.session.commit()
        return False
    agent = _lock_agent(agent_id)  # same lock order as accept_offer: agent, then offer
    expired = db.session.execute(
        update(Offer).where(Offer.id == offer_id, Offer.status == "pending", Offer.expires_at <= now)
        .values(status="expired", responded_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not expired:
        db.session.commit()
        return False
    offer = db.session.get(Offer, offer_id, populate_existing=True)
    if not _release_offered(offer.request_id, agent_id=agent_id, actor=SYSTEM, now=now,
                            action="request.offer_expired"):
        db.session.commit()  # the request had moved on (cancelled): not the agent's miss
        return True
    agent.missed_offers += 1
    if agent.missed_offers >= settings.max_missed_offers and agent.availability == Availability.AVAILABLE.value:
        _set_availability(agent, Availability.AWAY, actor=SYSTEM, now=now,
                          reason=f"{agent.missed_offers} offers expired in a row")
    db.session.commit()
    enqueue_assignment(offer.request_id)
    return True


# --- pulling, attempts, outcomes --------------------------------------------------------------

def claim_next(agent: StaffUser, now: datetime) -> CallbackRequest | None:
    """The agent pulls the next call itself: the same atomic claim as an accepted offer."""
    begin_write()
    agent = _lock_agent(agent.id)
    if held_count(agent.id) >= agent.capacity:
        db.session.rollback()
        raise AssignmentConflict("Vous avez déjà autant d'appels en cours que votre capacité le permet.")
    candidates = _next_request_query(agent, _skill_ids(agent)).limit(1).with_for_update(skip_locked=True)
    for request_id in db.session.scalars(candidates):
        if _claim_queued(request_id, agent.id, Status.IN_CALL, now):
            record_event(request_id=request_id, action="request.pulled", actor=Actor.staff(agent.id), now=now,
                         from_status=Status.QUEUED.value, to_status=Status.IN_CALL.value, staff_user_id=agent.id)
            agent.missed_offers = 0
            _set_availability(agent, Availability.BUSY, actor=Actor.staff(agent.id), now=now, reason="call pulled")
            db.session.commit()
            return db.session.get(CallbackRequest, request_id)
    db.session.commit()
    return None


def _held_request(reference_or_id, agent: StaffUser) -> CallbackRequest:
    """The request, locked, if this agent holds it (the caller has locked the agent first)."""
    column = CallbackRequest.reference if isinstance(reference_or_id, str) else CallbackRequest.id
    request = db.session.scalar(select(CallbackRequest).where(column == reference_or_id).with_for_update()
                                .execution_options(populate_existing=True))
    if request is None:
        db.session.rollback()
        raise LookupError(reference_or_id)
    if request.status != Status.IN_CALL.value or request.assigned_agent_id != agent.id:
        db.session.rollback()
        raise AssignmentConflict("Vous ne tenez pas cette demande : acceptez-la ou prenez-la d'abord.")
    return request


def start_attempt(reference_or_id, agent: StaffUser, now: datetime) -> CallAttempt:
    begin_write()
    _lock_agent(agent.id)
    request = _held_request(reference_or_id, agent)
    attempt = CallAttempt(request_id=request.id, agent_id=agent.id, started_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(attempt)
    except IntegrityError:
        db.session.rollback()
        raise AssignmentConflict("Un appel est déjà en cours pour cette demande.") from None
    record_event(request_id=request.id, action="attempt.started", actor=Actor.staff(agent.id), now=now,
                 data={"attempt_id": attempt.id}, staff_user_id=agent.id)
    record_contact(request, now, reached=False)
    db.session.commit()
    return attempt


def record_outcome(attempt_id: int, agent: StaffUser, outcome: Outcome | str, now: datetime,
                   note: str | None = None, follow_up_at: datetime | None = None) -> CallbackRequest:
    """Close an attempt with its outcome and move the request on (retry, follow-up, done)."""
    settings = Settings.from_config()
    outcome = Outcome(outcome)
    begin_write()
    _lock_agent(agent.id)
    attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
    if attempt is None:
        db.session.rollback()
        raise LookupError(attempt_id)
    if attempt.agent_id != agent.id:
        db.session.rollback()
        raise AssignmentConflict("Cet appel n'est pas le vôtre.")
    if attempt.ended_at is not None:
        db.session.rollback()
        raise AssignmentConflict("Le résultat de cet appel est déjà enregistré.")
    request = _held_request(attempt.request_id, agent)
    failed = request.failed_attempts + (1 if outcome in (Outcome.NO_ANSWER, Outcome.VOICEMAIL) else 0)
    step = after_outcome(outcome, failed_attempts=failed, max_attempts=settings.max_attempts, now=now,
                         retry_gap=settings.retry_gap,
                         follow_up_at=follow_up_at if outcome == Outcome.REACHED_FOLLOW_UP else None)
    closed = db.session.execute(
        update(CallAttempt).where(CallAttempt.id == attempt_id, CallAttempt.ended_at.is_(None))
        .values(ended_at=now, outcome=outcome.value, note=(note or "").strip() or None,
                follow_up_at=step.next_attempt_at if step.status == Status.SCHEDULED else None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not closed:
        db.session.rollback()
        raise AssignmentConflict("Le résultat de cet appel est déjà enregistré.")
    if not transition(request, step.status, actor=Actor.staff(agent.id), now=now, action=f"attempt.{outcome.value}",
                      reason=(note or "").strip()[:500] or None):
        db.session.rollback()
        raise AssignmentConflict("Cette demande a changé entre-temps : rechargez la page.")
    if outcome in REACHED_OUTCOMES:
        record_contact(request, now, reached=True)
    request.failed_attempts = failed
    request.next_attempt_at = step.next_attempt_at
    request.assigned_agent_id = None
    request.preferred_agent_id = agent.id if step.status == Status.SCHEDULED else request.preferred_agent_id
    message_id = None
    if step.status == Status.UNREACHABLE and outcome in (Outcome.NO_ANSWER, Outcome.VOICEMAIL):
        message_id = add_message(request, "unreachable", now)
    elif step.status == Status.SCHEDULED:
        message_id = add_message(request, "follow_up", now, when=step.next_attempt_at)
    available_again = _after_call(agent, now)
    db.session.commit()
    enqueue_message(message_id)
    if step.next_attempt_at is not None:
        schedule_job("chamber_callback.jobs.requeue_request", request.id,
                     job_id=f"requeue-{request.id}-{int(step.next_attempt_at.timestamp())}",
                     at=step.next_attempt_at + SCHEDULE_SLACK)
    if available_again:
        offer_next_to_agent(agent.id, now)  # the next call at once, not at the next tick
    return request


def release_request(reference_or_id, agent: StaffUser, now: datetime, reason: str | None = None) -> None:
    """The agent gives back a call it took but did not dial: it returns to the queue."""
    begin_write()
    _lock_agent(agent.id)
    request = _held_request(reference_or_id, agent)
    if not _release_held(request, actor=Actor.staff(agent.id), now=now, reason=reason):
        db.session.rollback()
        raise AssignmentConflict("Enregistrez d'abord le résultat de l'appel en cours.")
    # Recorded as a declined offer, so the request goes to someone else first.
    db.session.add(Offer(request_id=request.id, agent_id=agent.id, status="declined", created_at=now,
                         expires_at=now, responded_at=now))
    available_again = _after_call(agent, now)
    db.session.commit()
    enqueue_assignment(request.id)
    if available_again:
        offer_next_to_agent(agent.id, now)


def _release_held(request: CallbackRequest, *, actor: Actor, now: datetime, reason: str | None) -> bool:
    """A call in hand but not dialled goes back to the queue (False while an attempt is open)."""
    if db.session.scalar(select(CallAttempt.id).where(CallAttempt.request_id == request.id,
                                                      CallAttempt.ended_at.is_(None))):
        return False
    if not transition(request, Status.QUEUED, actor=actor, now=now, action="request.released", reason=reason):
        return False
    request.assigned_agent_id = None
    request.assignment_checked_at = None
    return True


def _after_call(agent: StaffUser, now: datetime) -> bool:
    """A busy agent with nothing left in hand is available again (True when that happened)."""
    db.session.flush()
    if agent.availability == Availability.BUSY.value and held_count(agent.id) == 0:
        _set_availability(agent, Availability.AVAILABLE, actor=Actor.staff(agent.id), now=now, reason="call ended")
        return True
    return False


def requeue_due(now: datetime, request_id: int | None = None) -> list[int]:
    """Requests whose retry gap or follow-up time has come go back to the queue."""
    begin_write()
    query = select(CallbackRequest).where(
        CallbackRequest.status.in_((Status.RETRY_WAIT.value, Status.SCHEDULED.value)),
        CallbackRequest.next_attempt_at <= now,
    )
    if request_id is not None:
        query = query.where(CallbackRequest.id == request_id)
    requeued = []
    for request in db.session.scalars(query.limit(500)).all():
        was_scheduled = request.status == Status.SCHEDULED.value
        if transition(request, Status.QUEUED, actor=SYSTEM, now=now, action="request.requeued"):
            if was_scheduled:
                rebuild_request_deadline(request, now)  # the agreed wait does not count against the SLA
            request.queued_at = now
            request.next_attempt_at = None
            request.assignment_checked_at = None
            requeued.append(request.id)
    db.session.commit()
    for rid in requeued:
        enqueue_assignment(rid)
    return requeued


# --- availability ----------------------------------------------------------------------------

def _set_availability(agent: StaffUser, state: Availability, *, actor: Actor, now: datetime,
                      reason: str | None = None) -> None:
    if agent.availability == state.value:
        return
    record_event(request_id=None, action="agent.availability", actor=actor, now=now, staff_user_id=agent.id,
                 from_status=agent.availability, to_status=state.value, reason=reason)
    agent.availability = state.value
    agent.availability_since = now


def set_availability(agent: StaffUser, state: Availability | str, now: datetime, actor: Actor | None = None) -> None:
    """The agent (or a senior) changes the agent's state. Going available offers work at once."""
    state = Availability(state)
    actor = actor or Actor.staff(agent.id)
    begin_write()
    agent = _lock_agent(agent.id)
    withdrawn = []
    if state != Availability.AVAILABLE:
        for offer in db.session.scalars(select(Offer).where(Offer.agent_id == agent.id, Offer.status == "pending")):
            withdraw_offer(offer, actor=actor, now=now, reason=f"agent is now {state.value}")
            withdrawn.append(offer.request_id)
    if state in (Availability.OFFLINE, Availability.AWAY):
        # Calls taken but not dialled go back to the queue; one being dialled stays until its outcome.
        for held in db.session.scalars(select(CallbackRequest).where(
                CallbackRequest.assigned_agent_id == agent.id, CallbackRequest.status == Status.IN_CALL.value)
                .with_for_update()).all():
            if _release_held(held, actor=actor, now=now, reason=f"agent is now {state.value}"):
                withdrawn.append(held.id)
    if state == Availability.AVAILABLE:
        agent.missed_offers = 0
        if held_count(agent.id) and db.session.scalar(select(func.count()).select_from(CallbackRequest).where(
                CallbackRequest.assigned_agent_id == agent.id, CallbackRequest.status == Status.IN_CALL.value)):
            state = Availability.BUSY  # still has a call in hand
    _set_availability(agent, state, actor=actor, now=now)
    db.session.commit()
    for request_id in withdrawn:
        enqueue_assignment(request_id)
    if state == Availability.AVAILABLE:
        offer_next_to_agent(agent.id, now)


# --- the periodic tick -----------------------------------------------------------------------

def dispatch_tick(now: datetime) -> dict[str, int]:
    """Repair and move on: expire overdue offers, requeue due retries, overflow long waits,
    and offer waiting work to every agent with room. Idempotent; safe with several workers."""
    settings = Settings.from_config()
    counts = {"expired": 0, "requeued": 0, "overflowed": 0, "offered": 0}
    overdue = db.session.scalars(select(Offer.id).where(Offer.status == "pending", Offer.expires_at <= now)).all()
    db.session.commit()
    counts["expired"] = sum(expire_offer(offer_id, now) for offer_id in overdue)
    counts["requeued"] = len(requeue_due(now))
    counts["overflowed"] = overflow_waiting(now, settings)
    agent_ids = db.session.scalars(select(StaffUser.id).where(
        StaffUser.availability == Availability.AVAILABLE.value, StaffUser.is_active_account.is_(True))).all()
    db.session.commit()
    for agent_id in agent_ids:
        if offer_next_to_agent(agent_id, now) is not None:
            counts["offered"] += 1
    log.info("dispatch tick: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def overflow_waiting(now: datetime, settings: Settings) -> int:
    """Requests no agent of their unit took in time may go to any unit (their deadline stays)."""
    begin_write()
    cutoff = now - settings.overflow_after
    waiting = db.session.scalars(select(CallbackRequest).where(
        CallbackRequest.status == Status.QUEUED.value, CallbackRequest.overflow_at.is_(None),
        CallbackRequest.queued_at <= cutoff,
    ).limit(500)).all()
    moved = []
    for request in waiting:
        if should_overflow(request.queued_at, now, settings.overflow_after):
            request.overflow_at = now
            record_event(request_id=request.id, action="request.overflow", actor=SYSTEM, now=now,
                         reason=f"no agent of the unit within {settings.overflow_after}")
            moved.append(request.id)
    db.session.commit()
    for request_id in moved:
        enqueue_assignment(request_id)
    return len(moved)

