"""The queue order in SQL, built from ``domain.queue.QUEUE_TERMS`` (never written by hand).

``queue_order()`` is the ``ORDER BY`` of every list that shows or serves the queue (the agent's
next call, the team queue, the dashboard's lists); ``ahead_of()`` counts who comes before a
request (the artisan's position).
"""
from __future__ import annotations

from sqlalchemy import and_, case, or_
from sqlalchemy.sql import ColumnElement

from ..domain.escalation import PRIORITY_TOP
from ..domain.queue import Queued, term_value, terms
from ..models import CallbackRequest as R

# Callback requests, not a campaign's contacts: the queue's lists, the SLA, the figures and the
# windows are about these (a campaign's contacts are served by ``services.campaigns``).
CALLBACKS = R.campaign_id.is_(None)


def _columns(agent_id: int | None) -> dict[str, ColumnElement]:
    """Each term as SQL; booleans as 0/1 so both databases compare and sort them alike."""
    columns = {
        "top_priority": case((R.priority >= PRIORITY_TOP, 1), else_=0),
        "urgent": case((R.urgent.is_(True), 1), else_=0),
        "priority": R.priority,
        "sla_deadline": R.sla_deadline,
        "id": R.id,
    }
    if agent_id is not None:
        columns["promised"] = case((R.preferred_agent_id == agent_id, 1), else_=0)
    return columns


def queue_order(agent_id: int | None = None) -> list[ColumnElement]:
    """``ORDER BY`` terms, first served first (with ``agent_id``: that agent's own order)."""
    columns = _columns(agent_id)
    return [columns[t.name].desc() if t.descending else columns[t.name].asc() for t in terms(agent_id)]


def ahead_of(request: Queued, agent_id: int | None = None) -> ColumnElement:
    """Rows served before ``request``: lexicographic comparison of the terms.

    A request not stored yet (no id) comes after every stored one that ties with it on the other
    terms, as its id will be the highest."""
    columns = _columns(agent_id)
    clauses, equal = [], []
    for term in terms(agent_id):
        column, value = columns[term.name], term_value(request, term.name, agent_id)
        if value is None and term.name == "id":
            clauses.append(and_(*equal))
            break
        clauses.append(and_(*equal, column > value if term.descending else column < value))
        equal.append(column == value)
    return or_(*clauses)
