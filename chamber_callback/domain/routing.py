"""Who is offered what: pure routing rules, with time and state passed in.

A request goes to an available agent with free capacity, of the request's unit (or any unit
once the request overflows), who has the topic's skill. Among them: the agent the request was
promised to (a follow-up returns to the same agent first), then an agent who already handled
this artisan (portfolio affinity), then the least loaded, then the longest idle.
The order in which requests are taken is ``domain.queue``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Availability(StrEnum):
    OFFLINE = "offline"
    AVAILABLE = "available"
    BUSY = "busy"  # in a call
    WRAP_UP = "wrap_up"  # finishing notes after a call
    AWAY = "away"


# States an agent may choose; "busy" is set by the system when a call is taken.
AGENT_SETTABLE = (Availability.AVAILABLE, Availability.WRAP_UP, Availability.AWAY, Availability.OFFLINE)


@dataclass(frozen=True)
class AgentView:
    id: int
    unit_id: int | None
    skills: frozenset[str]
    capacity: int
    held: int  # requests offered to or taken by this agent right now
    availability: str
    idle_since: datetime

    @property
    def free_capacity(self) -> int:
        return self.capacity - self.held


@dataclass(frozen=True)
class RequestView:
    id: int
    unit_id: int
    topic: str
    urgent: bool
    sla_deadline: datetime
    overflow: bool = False
    preferred_agent_id: int | None = None
    excluded_agent_ids: frozenset[int] = field(default_factory=frozenset)
    priority: int = 0  # raised by escalation: 1 at 50 % of the SLA, 2 once breached


def can_take(agent: AgentView, request: RequestView) -> bool:
    return (
        agent.availability == Availability.AVAILABLE
        and agent.free_capacity > 0
        and request.topic in agent.skills
        and (request.overflow or agent.unit_id == request.unit_id)
        and agent.id not in request.excluded_agent_ids
    )


def rank_agents(request: RequestView, agents: Iterable[AgentView], affinity: dict[int, int] | None = None
                ) -> list[AgentView]:
    """Candidates for ``request``, best first. ``affinity`` maps agent id → calls with this artisan."""
    affinity = affinity or {}
    candidates = [agent for agent in agents if can_take(agent, request)]
    return sorted(candidates, key=lambda agent: (
        agent.id != request.preferred_agent_id,
        -affinity.get(agent.id, 0),
        agent.held / agent.capacity,
        agent.idle_since,
        agent.id,
    ))


def should_overflow(queued_at: datetime, now: datetime, overflow_after: timedelta) -> bool:
    """No agent of the unit took the request in time: any unit may take it (deadline unchanged)."""
    return now - queued_at >= overflow_after
