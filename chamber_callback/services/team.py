"""The team queue (``/equipe``): a unit's active requests in the order they will be served, its
agents, and the same at-risk and breached counts as the managers' dashboard."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..domain.lifecycle import ACTIVE_STATUSES
from ..domain.roles import TAKES_CALLS
from ..extensions import db
from ..models import CallbackRequest, StaffUser
from . import stats
from .queue import queue_order

LIST_LIMIT = 300


@dataclass(frozen=True)
class TeamQueue:
    requests: list[CallbackRequest]  # active, first served first (at most LIST_LIMIT)
    by_status: dict[str, int]
    at_risk: list[CallbackRequest]
    breached: list[CallbackRequest]
    at_risk_count: int
    breached_count: int
    agents: list[StaffUser]


def team_queue(unit_id: int | None, now: datetime) -> TeamQueue:
    """One unit's queue (every unit with ``unit_id=None``)."""
    scope = stats.Scope(unit_id=unit_id)
    breakdown = stats.active_breakdown(scope, now)
    by_status: dict[str, int] = {}
    for row in breakdown.by_unit:
        for status, count in row.by_status.items():
            by_status[status] = by_status.get(status, 0) + count
    at_risk, breached = stats.attention_lists(scope, now)
    requests = db.session.scalars(
        select(CallbackRequest).options(joinedload(CallbackRequest.topic), joinedload(CallbackRequest.assigned_agent))
        .where(CallbackRequest.status.in_([s.value for s in ACTIVE_STATUSES]), *scope.conditions())
        .order_by(*queue_order()).limit(LIST_LIMIT)).all()
    agents = select(StaffUser).where(StaffUser.role.in_(TAKES_CALLS), StaffUser.is_active_account.is_(True))
    if unit_id:
        agents = agents.where(StaffUser.unit_id == unit_id)
    return TeamQueue(
        requests=list(requests), by_status=by_status, at_risk=at_risk, breached=breached,
        at_risk_count=sum(row.at_risk for row in breakdown.by_unit),
        breached_count=sum(row.breached for row in breakdown.by_unit),
        agents=list(db.session.scalars(agents.order_by(StaffUser.unit_id, StaffUser.name))))
