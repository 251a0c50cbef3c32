"""The order of the queue: which waiting request is called first. Defined once, here.

Terms, compared in turn (the first that differs decides):
1. promised: a request promised to the agent who asks (a follow-up returns to the agent who
   agreed it) comes first for that agent; this term exists only in an agent's own order;
2. top priority: breached requests, and those a manager put at the head of the queue;
3. urgent (the artisan's business is at risk, a front-line trade);
4. escalation priority: raised at 50 % of the SLA;
5. the earliest SLA deadline;
6. the earliest submitted (the id follows submission).

``queue_key`` sorts in Python; ``services.queue`` builds the SQL ``ORDER BY`` and the "ahead of
this one" condition from the same ``QUEUE_TERMS``, and a property test holds the two together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .escalation import PRIORITY_TOP


class Queued(Protocol):
    """What the order reads of a request (a ``CallbackRequest`` row or a ``RequestView``)."""

    id: int
    urgent: bool
    priority: int
    sla_deadline: datetime
    preferred_agent_id: int | None


@dataclass(frozen=True)
class QueueTerm:
    name: str
    descending: bool  # True: the larger value is served first
    agent_only: bool = False  # only in the order of one agent's own work


QUEUE_TERMS: tuple[QueueTerm, ...] = (
    QueueTerm("promised", descending=True, agent_only=True),
    QueueTerm("top_priority", descending=True),
    QueueTerm("urgent", descending=True),
    QueueTerm("priority", descending=True),
    QueueTerm("sla_deadline", descending=False),
    QueueTerm("id", descending=False),
)


def terms(agent_id: int | None = None) -> tuple[QueueTerm, ...]:
    """The terms that apply: every one for an agent's own order, the shared ones otherwise."""
    return tuple(term for term in QUEUE_TERMS if agent_id is not None or not term.agent_only)


def term_value(request: Queued, name: str, agent_id: int | None = None):
    """One term's value for a request; booleans as 0/1, as SQL compares them."""
    if name == "promised":
        return int(agent_id is not None and request.preferred_agent_id == agent_id)
    if name == "top_priority":
        return int(request.priority >= PRIORITY_TOP)
    if name == "urgent":
        return int(bool(request.urgent))
    return getattr(request, name)


def queue_key(request: Queued, agent_id: int | None = None) -> tuple:
    """Sort key: ``sorted(requests, key=queue_key)`` is the queue, first served first.
    With ``agent_id``, the order in which that agent is given work."""
    key = []
    for term in terms(agent_id):
        value = term_value(request, term.name, agent_id)
        key.append(-value if term.descending else value)
    return tuple(key)


def position(request: Queued, waiting: list[Queued]) -> int:
    """How many of ``waiting`` come before ``request`` (itself excluded)."""
    mine = queue_key(request)
    return sum(1 for other in waiting if other.id != request.id and queue_key(other) < mine)
