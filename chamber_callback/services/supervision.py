"""What seniors and managers do to a waiting request: give it to an agent, send it to another
unit, raise its priority. Each action is one transaction with its audit event (old → new)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.actors import Actor
from ..domain.escalation import PRIORITY_TOP
from ..domain.lifecycle import Status
from ..domain.roles import TAKES_CALLS, locked_to_own_unit, sees_all_units
from ..domain.routing import Availability
from ..extensions import db
from ..models import CallbackRequest, Offer, RegionalUnit, StaffUser
from ..queues import enqueue_assignment
from .assignment import Settings, lock_agent, make_offer, withdraw_offer
from .audit import record_event
from .unit_of_work import UnitOfWork, unit_of_work

# A call in progress belongs to its agent; anything else may be moved.
MOVABLE = (Status.QUEUED.value, Status.OFFERED.value, Status.RETRY_WAIT.value, Status.SCHEDULED.value)


class SupervisionError(ValueError):
    """The action is not possible; the message (translated) is for the person who tried."""


@dataclass(frozen=True)
class Supervisor:
    """Who acts, and over which requests: a senior over its unit's, managers over all."""

    user: StaffUser

    @property
    def actor(self) -> Actor:
        return Actor.staff(self.user.id)

    def may_act_on(self, request: CallbackRequest) -> bool:
        return sees_all_units(self.user.role) or request.unit_id == self.user.unit_id


def _load(reference: str, supervisor: Supervisor) -> CallbackRequest:
    request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference)
                                .execution_options(populate_existing=True))
    if request is None or not supervisor.may_act_on(request):
        raise LookupError(reference)
    if request.status not in MOVABLE:
        raise SupervisionError(_("Un appel est en cours ou la demande est close : elle ne peut plus être déplacée."))
    return request


def _withdraw_offer(request: CallbackRequest, actor: Actor, now: datetime, why: str, work: UnitOfWork) -> None:
    """The request's pending offer, if any, is taken back (not the agent's miss)."""
    offer = db.session.scalar(select(Offer).where(Offer.request_id == request.id, Offer.status == "pending"))
    if offer is not None:
        withdraw_offer(offer, actor=actor, now=now, reason=why, work=work)


def reassign(reference: str, agent_id: int, supervisor: Supervisor, now: datetime) -> Offer | None:
    """Give a waiting request to a chosen agent: offered at once when the agent is free,
    otherwise it becomes the agent's next call (retries and follow-ups go to it too)."""
    with unit_of_work() as work:
        request = _load(reference, supervisor)
        agent = lock_agent(agent_id)
        if agent is None or agent.role not in TAKES_CALLS or not agent.is_active_account:
            raise SupervisionError(_("Choisissez un conseiller actif."))
        if locked_to_own_unit(supervisor.user.role) and agent.unit_id != supervisor.user.unit_id:
            raise SupervisionError(_("Un senior confie les demandes aux conseillers de son unité ; "
                                     "pour une autre unité, utilisez « Envoyer à une autre unité »."))
        if request.assigned_agent_id == agent.id and request.status == Status.OFFERED.value:
            raise SupervisionError(_("La demande est déjà proposée à %(agent)s.", agent=agent.name))
        old_agent = request.assigned_agent_id or request.preferred_agent_id
        _withdraw_offer(request, supervisor.actor, now, f"reassigned to agent {agent.id}", work)
        request.preferred_agent_id = agent.id
        if agent.unit_id != request.unit_id and request.overflow_at is None:
            request.overflow_at = now  # the chosen agent must be allowed to take it
        record_event(request_id=request.id, action="request.reassigned", actor=supervisor.actor, now=now,
                     data={"changes": {"agent_id": {"old": old_agent, "new": agent.id}}}, staff_user_id=agent.id)
        offer = None
        if request.status == Status.QUEUED.value:
            offer = make_offer(request.id, agent, now, Settings.from_config(), work)
            if offer is None:
                work.after_commit(enqueue_assignment, request.id)  # not free now: whoever is, by the routing
    return offer


def move_to_unit(reference: str, unit_id: int, supervisor: Supervisor, now: datetime) -> None:
    """Send a request to another unit's queue; its deadline stays its deadline."""
    with unit_of_work() as work:
        request = _load(reference, supervisor)
        unit = db.session.get(RegionalUnit, unit_id)
        if unit is None:
            raise SupervisionError(_("Choisissez une unité."))
        if unit.id == request.unit_id:
            raise SupervisionError(_("La demande est déjà dans l'unité %(unit)s.", unit=unit.name))
        old_unit = request.unit_id
        _withdraw_offer(request, supervisor.actor, now, f"moved to unit {unit.code}", work)
        request.unit_id = unit.id
        request.preferred_agent_id = None
        request.assignment_checked_at = None
        record_event(request_id=request.id, action="request.moved", actor=supervisor.actor, now=now,
                     data={"changes": {"unit_id": {"old": old_unit, "new": unit.id}}})
        if request.status == Status.QUEUED.value:
            work.after_commit(enqueue_assignment, request.id)


def raise_priority(reference: str, supervisor: Supervisor, now: datetime) -> bool:
    """Put a request at the head of the queue (as breached ones are). False when it already is."""
    with unit_of_work() as work:
        request = _load(reference, supervisor)
        if request.priority >= PRIORITY_TOP:
            return False
        record_event(request_id=request.id, action="request.priority_raised", actor=supervisor.actor, now=now,
                     data={"changes": {"priority": {"old": request.priority, "new": PRIORITY_TOP}}})
        request.priority = PRIORITY_TOP
        if request.status == Status.QUEUED.value:
            work.after_commit(enqueue_assignment, request.id)
    return True


def assignable_agents(supervisor: Supervisor) -> list[StaffUser]:
    """Agents requests can be given to: active call takers (a senior's own unit only),
    available ones first."""
    query = select(StaffUser).where(StaffUser.role.in_(TAKES_CALLS), StaffUser.is_active_account.is_(True))
    if locked_to_own_unit(supervisor.user.role):
        query = query.where(StaffUser.unit_id == supervisor.user.unit_id)
    agents = db.session.scalars(query.order_by(StaffUser.name)).all()
    return sorted(agents, key=lambda a: (a.availability != Availability.AVAILABLE.value, a.name))
