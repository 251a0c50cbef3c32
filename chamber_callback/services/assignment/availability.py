"""An agent's availability: going available offers work at once; going away or offline gives back
what the agent holds but has not dialled."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from ...domain.actors import Actor
from ...domain.lifecycle import Status
from ...domain.routing import Availability
from ...extensions import db
from ...models import CallbackRequest, Offer, StaffUser
from ...queues import enqueue_assignment
from ..unit_of_work import unit_of_work
from .common import change_availability, held_count, lock_agent
from .offers import offer_next_to_agent, withdraw_offer
from .pulls import release_held


def set_availability(agent: StaffUser, state: Availability | str, now: datetime, actor: Actor | None = None) -> None:
    """The agent (or a senior, or an admin deactivating the account) changes the agent's state."""
    state = Availability(state)
    actor = actor or Actor.staff(agent.id)
    with unit_of_work() as work:
        agent = lock_agent(agent.id)
        if state != Availability.AVAILABLE:
            for offer in db.session.scalars(select(Offer).where(Offer.agent_id == agent.id,
                                                                Offer.status == "pending")).all():
                withdraw_offer(offer, actor=actor, now=now, reason=f"agent is now {state.value}", work=work)
        if state in (Availability.OFFLINE, Availability.AWAY):
            # Calls taken but not dialled go back to the queue; one being dialled stays until its outcome.
            for held in db.session.scalars(select(CallbackRequest).where(
                    CallbackRequest.assigned_agent_id == agent.id, CallbackRequest.status == Status.IN_CALL.value)
                    .with_for_update()).all():
                if release_held(held, actor=actor, now=now, reason=f"agent is now {state.value}"):
                    work.after_commit(enqueue_assignment, held.id)
        if state == Availability.AVAILABLE:
            agent.missed_offers = 0
            if held_count(agent.id) and db.session.scalar(select(func.count()).select_from(CallbackRequest).where(
                    CallbackRequest.assigned_agent_id == agent.id, CallbackRequest.status == Status.IN_CALL.value)):
                state = Availability.BUSY  # still has a call in hand
        change_availability(agent, state, actor=actor, now=now)
        if state == Availability.AVAILABLE:
            work.after_commit(offer_next_to_agent, agent.id, now)
