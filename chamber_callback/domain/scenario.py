"""A load scenario: what the forecast computes and the simulator replays (pure data).

A scenario starts at ``start`` (on the hour) and covers ``hours`` hours of arrivals. Each unit
has, per hour from ``start``: the requests expected to arrive and the agents planned to call
(capacity included). Agents call only during the unit's opening hours (``calendar``). The
requests already waiting at ``start`` are the backlog. The rules are the product's own (SLA,
clock, escalation levels, overflow, retries), as configured.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from .escalation import DEFAULT_LEVELS, PRIORITY_TOP, EscalationLevel
from .eta import CallStats
from .sla import BusinessCalendar, sla_deadline


@dataclass(frozen=True)
class Backlog:
    """Requests waiting at the scenario's start (``count`` alike ones: a cohort)."""

    unit: str
    submitted_at: datetime
    deadline: datetime
    urgent: bool = False
    count: float = 1.0


@dataclass(frozen=True)
class UnitLoad:
    unit: str
    arrivals: tuple[float, ...]  # expected requests arriving in each hour from the start
    agents: tuple[float, ...]  # agents calling in each hour (before opening hours apply)
    calendar: BusinessCalendar | None = None  # opening hours and closed days; None: always open
    stats: CallStats = field(default_factory=CallStats)
    urgent_share: float = 0.2
    backlog: tuple[Backlog, ...] = ()


@dataclass(frozen=True)
class Rules:
    sla_hours: float = 24.0
    business_clock: bool = False  # the SLA counts only the opening hours
    levels: tuple[EscalationLevel, ...] = DEFAULT_LEVELS
    overflow_after: timedelta = timedelta(minutes=30)  # then any unit's agent may take it
    retry_gap: timedelta = timedelta(minutes=30)
    max_attempts: int = 3
    met_on_reach: bool = False  # the SLA is met by the first call (default) or the first reach

    def clock(self, load: UnitLoad) -> BusinessCalendar | None:
        """The calendar the SLA counts in for a unit (None: real hours)."""
        return load.calendar if self.business_clock else None

    @property
    def top_share(self) -> float | None:
        """From which share of the SLA a request jumps to the head of the queue."""
        return min((level.share for level in self.levels if level.priority >= PRIORITY_TOP), default=None)

    @property
    def overflow_share(self) -> float | None:
        return min((level.share for level in self.levels if level.overflow), default=None)


@dataclass(frozen=True)
class Scenario:
    start: datetime
    units: tuple[UnitLoad, ...]
    rules: Rules = field(default_factory=Rules)
    hours: int = 24

    def with_agents(self, delta: dict[str, float]) -> Scenario:
        """The what-if: ``delta`` more (or fewer) agents in a unit, every hour it is open."""
        units = []
        for load in self.units:
            extra = delta.get(load.unit, 0)
            agents = load.agents or (0.0,)
            units.append(replace(load, agents=tuple(max(0.0, n + extra) for n in agents)) if extra else load)
        return replace(self, units=tuple(units))

    def with_sla(self, sla_hours: float) -> Scenario:
        """The what-if of another promise: the waiting requests' deadlines move with it."""
        rules = replace(self.rules, sla_hours=sla_hours)
        units = tuple(replace(load, backlog=tuple(
            replace(item, deadline=sla_deadline(item.submitted_at, sla_hours, calendar=rules.clock(load)))
            for item in load.backlog)) for load in self.units)
        return replace(self, units=units, rules=rules)

    def unit(self, code: str) -> UnitLoad:
        return next(load for load in self.units if load.unit == code)


class BreachCounts:
    """Breaches per unit and per hour from a scenario's start (the hour the deadline passes):
    what the forecast predicts and the simulator counts."""

    breaches: dict[str, list[float]]

    @property
    def total_breaches(self) -> float:
        return sum(sum(hours) for hours in self.breaches.values())

    def breaches_within(self, hours: int) -> dict[str, float]:
        return {unit: sum(values[:hours]) for unit, values in self.breaches.items()}


def expected_attempts(answer_rate: float, max_attempts: int) -> float:
    """Calls a request costs on average when each one is answered with ``answer_rate``."""
    return sum((1 - answer_rate) ** k for k in range(max_attempts))


def answer_rate_for(stats: CallStats, max_attempts: int) -> float:
    """The answer probability per call that makes a request cost ``stats.attempts_per_request``
    calls on average (the unit's recent figure), so that simulator and forecast agree on it."""
    target = stats.attempts_per_request
    if target <= 1.0:
        return 1.0
    if target >= max_attempts:
        return 0.0
    low, high = 0.0, 1.0  # expected_attempts decreases as the answer rate grows
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (middle, high) if expected_attempts(middle, max_attempts) > target else (low, middle)
    return (low + high) / 2
