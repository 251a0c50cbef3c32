"""Offers: a waiting request proposed to one agent, accepted, declined or expired.

Every claim is a conditional UPDATE in a write transaction (BEGIN IMMEDIATE on SQLite; the
agent's row locked FOR UPDATE on PostgreSQL). Offer expiry is an RQ job scheduled at the
deadline; the deadline itself is in the database and checked on every accept, so the job (or
the periodic tick, if Redis lost the job) only makes the expiry happen sooner.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select, update

from ...domain.actors import SYSTEM, Actor
from ...domain.lifecycle import Status
from ...domain.roles import TAKES_CALLS
from ...domain.routing import AgentView, Availability, RequestView, rank_agents
from ...extensions import db
from ...models import CallAttempt, CallbackRequest, Offer, StaffUser, Topic, agent_skills
from ...queues import cancel_offer_expiry, enqueue_assignment, enqueue_offer_push, schedule_offer_expiry
from .. import push
from ..audit import record_event
from ..lifecycle import transition
from ..queue import queue_order
from ..unit_of_work import UnitOfWork, unit_of_work
from .common import (
    EXCLUSION_WINDOW,
    HELD_STATUSES,
    AssignmentConflict,
    Settings,
    change_availability,
    held_count,
    lock_agent,
)

# --- who may take a request ------------------------------------------------------------------

def _available_agents(request: CallbackRequest) -> list[AgentView]:
    return _agents_available(None if request.overflow_at is not None else request.unit_id)


def _agents_available(unit_id: int | None) -> list[AgentView]:
    """The available agents (of one unit, or of every unit: None), as the routing rules read them."""
    query = select(StaffUser).where(
        StaffUser.availability == Availability.AVAILABLE.value,
        StaffUser.is_active_account.is_(True),
        StaffUser.role.in_(TAKES_CALLS),
    )
    if unit_id is not None:
        query = query.where(StaffUser.unit_id == unit_id)
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


def next_request_query(agent: StaffUser, skill_ids: list[int], now: datetime | None = None):
    """Waiting requests this agent may take, in the agent's queue order (``domain.queue``).

    With ``now``, requests the agent just declined or let expire are left to others (offers);
    without it (the agent pulls a call itself) nothing is skipped.
    """
    conditions = [
        CallbackRequest.campaign_id.is_(None),  # callback requests; a campaign's calls: campaign_calls_for
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
    return select(CallbackRequest.id).where(*conditions).order_by(*queue_order(agent.id))


def work_for(agent: StaffUser, now: datetime, *, exclude_recent: bool = True, limit: int = 5,
             lock: bool = False) -> list[int]:
    """What this agent may be given now, best first: the callback requests it may take, then, when
    the campaign rules allow (``services.campaigns``), its unit's campaign calls.

    With ``lock`` the rows are locked for the caller's transaction, skipping those another agent's
    claim holds (PostgreSQL), so agents pulling at the same moment each get a different request."""
    from ..campaigns import campaign_calls_for

    def rows(query, count: int) -> list[int]:
        query = query.limit(count)
        return list(db.session.scalars(query.with_for_update(skip_locked=True) if lock else query))

    found = rows(next_request_query(agent, skill_ids(agent), now if exclude_recent else None), limit)
    if len(found) < limit:  # the campaign rules cost a few queries: only read when there is room
        campaign = campaign_calls_for(agent, now, exclude_recent=exclude_recent)
        if campaign is not None:
            found += rows(campaign, limit - len(found))
    return found


def skill_ids(agent: StaffUser) -> list[int]:
    return list(db.session.scalars(select(agent_skills.c.topic_id).where(agent_skills.c.user_id == agent.id)))


# --- making offers ---------------------------------------------------------------------------

def claim_queued(request_id: int, agent_id: int, target: Status, now: datetime) -> bool:
    """The one claim: a queued request becomes the agent's (offered or in call), or nothing happens."""
    return db.session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == request_id, CallbackRequest.status == Status.QUEUED.value)
        .values(status=target.value, assigned_agent_id=agent_id, assignment_checked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def has_room(agent: StaffUser | None) -> bool:
    """Whether the agent (locked by the caller) may be offered a request now: available, with free
    capacity, and no proposal pending (the console shows one at a time)."""
    if agent is None or agent.availability != Availability.AVAILABLE.value or held_count(agent.id) >= agent.capacity:
        return False
    return not db.session.scalar(select(Offer.id).where(Offer.agent_id == agent.id, Offer.status == "pending")
                                 .limit(1))


def make_offer(request_id: int, agent: StaffUser, now: datetime, settings: Settings, work: UnitOfWork, *,
               room_checked: bool = False) -> Offer | None:
    """Offer a queued request to an available agent with free capacity (the caller holds the agent's
    lock); its expiry is scheduled once ``work`` commits. None when the agent has no room, or the
    request is no longer queued (claimed meanwhile)."""
    if not room_checked and not has_room(agent):
        return None
    if not claim_queued(request_id, agent.id, Status.OFFERED, now):
        return None
    offer = Offer(request_id=request_id, agent_id=agent.id, status="pending", created_at=now,
                  expires_at=now + settings.offer_timeout)
    db.session.add(offer)
    db.session.flush()
    record_event(request_id=request_id, action="request.offered", actor=SYSTEM, now=now,
                 from_status=Status.QUEUED.value, to_status=Status.OFFERED.value,
                 data={"agent_id": agent.id, "offer_id": offer.id}, staff_user_id=agent.id)
    work.after_commit(schedule_offer_expiry, offer.id, offer.expires_at)
    if push.enabled() and push.has_subscription(agent.id):
        work.after_commit(enqueue_offer_push, offer.id)
    return offer


def assign_request(request_id: int, now: datetime) -> int | None:
    """Offer one queued request to its best candidate. Returns the agent id, or None (it waits)."""
    settings = Settings.from_config()
    offer = None
    with unit_of_work() as work:
        request = db.session.get(CallbackRequest, request_id, populate_existing=True)
        if request is None or request.status != Status.QUEUED.value:
            return None
        if request.campaign_id is not None:
            # A campaign's call goes to an agent with room that asks for work (offer_next_to_agent),
            # where the campaign rules decide; it is not pushed to the best agent like a callback.
            request.assignment_checked_at = now
            return None
        # In a surge nobody is free for most new requests: then the routing inputs (agents who
        # declined it, who called this artisan before) are not read at all.
        agents = _available_agents(request)
        ranked = rank_agents(request_view(request, now), agents, _affinity(request)) if agents else []
        for candidate in ranked:
            agent = lock_agent(candidate.id)
            if has_room(agent):
                # The claim decides: offered, or another agent's transaction took the request first;
                # either way no other candidate is tried (nor locked, which could deadlock with
                # that agent's own transaction).
                offer = make_offer(request.id, agent, now, settings, work, room_checked=True)
                break
        if offer is None:
            request.assignment_checked_at = now
    return offer.agent_id if offer else None


def free_agent_for(unit_id: int, topic_code: str, now: datetime) -> bool:
    """Whether the routing rules would find an agent for a new request of this unit and topic now."""
    view = RequestView(id=0, unit_id=unit_id, topic=topic_code, urgent=False, sla_deadline=now)
    return bool(rank_agents(view, _agents_available(unit_id)))


def best_free_agent(request: CallbackRequest, now: datetime) -> int | None:
    """The agent the routing rules would offer this request to right now (None: nobody free)."""
    ranked = rank_agents(request_view(request, now), _available_agents(request), _affinity(request))
    return ranked[0].id if ranked else None


def offer_next_to_agent(agent_id: int, now: datetime) -> Offer | None:
    """An agent has room: offer it the best waiting request it can take, at once."""
    settings = Settings.from_config()
    offer = None
    with unit_of_work() as work:
        agent = lock_agent(agent_id)
        if agent is not None and agent.availability == Availability.AVAILABLE.value:
            for request_id in work_for(agent, now):
                offer = make_offer(request_id, agent, now, settings, work)
                if offer is not None:
                    break
    return offer


# --- answering offers ------------------------------------------------------------------------

def accept_offer(offer_id: int, agent: StaffUser, now: datetime) -> CallbackRequest:
    with unit_of_work() as work:
        lock_agent(agent.id)
        accepted = db.session.execute(
            update(Offer).where(Offer.id == offer_id, Offer.agent_id == agent.id, Offer.status == "pending",
                                Offer.expires_at > now)
            .values(status="accepted", responded_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if not accepted:
            raise AssignmentConflict(_("Cette proposition n'est plus valable (expirée ou déjà traitée)."))
        offer = db.session.get(Offer, offer_id, populate_existing=True)
        request = db.session.get(CallbackRequest, offer.request_id, populate_existing=True)
        if request.status != Status.OFFERED.value or request.assigned_agent_id != agent.id or not transition(
                request, Status.IN_CALL, actor=Actor.staff(agent.id), now=now, action="request.accepted"):
            raise AssignmentConflict(_("Cette demande n'est plus disponible."))
        agent.missed_offers = 0
        change_availability(agent, Availability.BUSY, actor=Actor.staff(agent.id), now=now, reason="offer accepted")
        work.after_commit(cancel_offer_expiry, offer_id)
    return request


def decline_offer(offer_id: int, agent: StaffUser, now: datetime, reason: str | None = None) -> None:
    """The agent declines: the request goes to someone else, and the agent, still available, is
    offered the next waiting request at once."""
    with unit_of_work() as work:
        declined = db.session.execute(
            update(Offer).where(Offer.id == offer_id, Offer.agent_id == agent.id, Offer.status == "pending")
            .values(status="declined", responded_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if not declined:
            raise AssignmentConflict(_("Cette proposition n'est plus valable (expirée ou déjà traitée)."))
        request_id = db.session.scalar(select(Offer.request_id).where(Offer.id == offer_id))
        release_offered(request_id, agent_id=agent.id, actor=Actor.staff(agent.id), now=now,
                        action="request.declined", reason=reason)
        work.after_commit(cancel_offer_expiry, offer_id)
        work.after_commit(enqueue_assignment, request_id)
        work.after_commit(offer_next_to_agent, agent.id, now)


def release_offered(request_id: int, *, agent_id: int, actor: Actor, now: datetime, action: str,
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


def withdraw_offer(offer: Offer, *, actor: Actor, now: datetime, reason: str, work: UnitOfWork) -> None:
    """Take back a pending offer (not the agent's miss): the request waits again, keeping its place.
    Once ``work`` commits, the expiry job is dropped and the request is assigned again."""
    offer.status, offer.responded_at = "withdrawn", now
    if release_offered(offer.request_id, agent_id=offer.agent_id, actor=actor, now=now,
                       action="request.offer_withdrawn", reason=reason):
        work.after_commit(enqueue_assignment, offer.request_id)
    work.after_commit(cancel_offer_expiry, offer.id)


def expire_offer(offer_id: int, now: datetime) -> bool:
    """Expire a pending offer past its deadline (idempotent). True when this call expired it.

    The request goes to the next candidate; the agent who let it expire is, unless that made it
    « absent », offered the next waiting request at once (so missed offers count in seconds)."""
    settings = Settings.from_config()
    with unit_of_work() as work:
        agent_id = db.session.scalar(select(Offer.agent_id).where(Offer.id == offer_id))
        if agent_id is None:
            return False
        agent = lock_agent(agent_id)  # same lock order as accept_offer: agent, then offer
        expired = db.session.execute(
            update(Offer).where(Offer.id == offer_id, Offer.status == "pending", Offer.expires_at <= now)
            .values(status="expired", responded_at=now).execution_options(synchronize_session=False)
        ).rowcount
        if not expired:
            return False
        offer = db.session.get(Offer, offer_id, populate_existing=True)
        if not release_offered(offer.request_id, agent_id=agent_id, actor=SYSTEM, now=now,
                               action="request.offer_expired"):
            return True  # the request had moved on (cancelled): not the agent's miss
        agent.missed_offers += 1
        if agent.missed_offers >= settings.max_missed_offers and agent.availability == Availability.AVAILABLE.value:
            change_availability(agent, Availability.AWAY, actor=SYSTEM, now=now,
                                reason=f"{agent.missed_offers} offers expired in a row")
        work.after_commit(enqueue_assignment, offer.request_id)
        work.after_commit(offer_next_to_agent, agent_id, now)
    return True
