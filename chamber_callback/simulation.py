"""A discrete-event simulation of the callback queue (simpy): a scenario replayed request by request.

Where the forecast (``domain.forecast``) moves fluid cohorts a quarter-hour at a time, the
simulator draws every request and every call: arrivals as a Poisson process at each hour's
expected rate, urgent ones at the unit's share, call durations from a log-normal law with the
unit's recent mean and variation, each call answered with a fixed probability. The rules are the
product's own, read from ``domain``: the queue order (``queue.queue_key``), overflow to every
unit after ``overflow_after`` in the queue or at the escalation level that says so, priorities
from the escalation levels, the SLA deadline (``sla.sla_deadline``, on the business clock when
configured), and what an unanswered call leads to (``attempts.after_outcome``: a retry after the
gap, unreachable after the last attempt). Agents call only within their unit's opening hours, one
call at a time, and finish a call begun before their hour ends.

With ``eta_every``, the callback windows of ``domain.eta`` are recomputed for each unit every so
many minutes, as the periodic job does, and each first call is checked against the window then in
force: the calibration the dashboard measures, measured here before a crisis.

Used by ``flask simulate`` (what a given staffing would do to a surge) and by the bench that holds
the forecast to it.
"""
from __future__ import annotations

import heapq
import math
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import simpy

from .domain.attempts import Outcome, after_outcome
from .domain.escalation import PRIORITY_NORMAL
from .domain.eta import Shift, Waiting, estimate, moved
from .domain.lifecycle import Status
from .domain.queue import queue_key
from .domain.scenario import Backlog, BreachCounts, Scenario, UnitLoad, answer_rate_for
from .domain.sla import instant_at_share, sla_deadline

_DONE = frozenset({Status.COMPLETED, Status.UNREACHABLE})
_WAITING = frozenset({Status.QUEUED, Status.RETRY_WAIT})
FIRST_WINDOW_QUEUE_LIMIT = 400
DRAIN_AFTER_LAST_DEADLINE = timedelta(hours=6)  # simulated past the last deadline, so all are judged


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


@dataclass
class SimulationResult(BreachCounts):
    start: datetime
    units: tuple[str, ...]
    requests: int = 0  # waiting at the start or arriving in the scenario's hours
    breaches: dict[str, list[int]] = field(default_factory=dict)  # per unit, per hour of the deadline
    already_late: int = 0  # waiting at the start past their deadline (not counted as breaches)
    waits: list[float] = field(default_factory=list)  # minutes from arrival to the first call
    unit_waits: dict[str, list[float]] = field(default_factory=dict)  # the same, per unit
    calls: int = 0
    reached: int = 0
    unreachable: int = 0
    busy_minutes: dict[str, float] = field(default_factory=dict)
    present_minutes: dict[str, float] = field(default_factory=dict)
    windows_judged: int = 0  # first calls that had a window
    windows_inside: int = 0  # … and started inside it
    window_widths: list[float] = field(default_factory=list)  # minutes, of the windows judged
    no_window: int = 0  # first calls before any window was computed for them

    @property
    def p50_wait(self) -> float | None:
        return percentile(self.waits, 0.5)

    @property
    def p90_wait(self) -> float | None:
        return percentile(self.waits, 0.9)

    def occupancy(self, unit: str) -> float | None:
        present = self.present_minutes.get(unit, 0.0)
        return self.busy_minutes.get(unit, 0.0) / present if present else None

    @property
    def inside_share(self) -> float | None:
        return self.windows_inside / self.windows_judged if self.windows_judged else None

    @property
    def median_width(self) -> float | None:
        return statistics.median(self.window_widths) if self.window_widths else None


class _Request:
    """A simulated request; satisfies ``domain.queue.Queued``."""

    __slots__ = (
        "deadline",
        "failed",
        "first_call",
        "id",
        "not_before",
        "owner",
        "pooled",
        "priority",
        "queued_at",
        "reached",
        "state",
        "submitted_at",
        "urgent",
        "version",
        "window",
    )
    preferred_agent_id = None

    def __init__(self, number: int, owner: int, urgent: bool, submitted_at: datetime, deadline: datetime):
        self.id, self.owner, self.urgent = number, owner, urgent
        self.submitted_at, self.deadline = submitted_at, deadline
        self.priority, self.failed, self.version = PRIORITY_NORMAL, 0, 0
        self.state, self.pooled = Status.QUEUED, False
        self.first_call = self.reached = self.window = self.not_before = None
        self.queued_at = submitted_at

    @property
    def sla_deadline(self) -> datetime:
        return self.deadline


class _Agent:
    __slots__ = ("busy_until", "id", "unit", "wake")

    def __init__(self, agent_id: int, unit: int):
        self.id, self.unit, self.wake, self.busy_until = agent_id, unit, None, None


class _Simulation:
    def __init__(self, scenario: Scenario, rng: random.Random, answer_rate: float | None,
                 eta_every: float | None):
        self.scenario, self.rules, self.rng = scenario, scenario.rules, rng
        self.start = scenario.start
        self.env = simpy.Environment()
        self.units = [load.unit for load in scenario.units]
        self.answer = [answer_rate if answer_rate is not None else answer_rate_for(load.stats, self.rules.max_attempts)
                       for load in scenario.units]
        self.local: list[list] = [[] for _ in self.units]  # per unit: its own waiting requests, a heap
        self.pooled: list = []  # overflowed requests, any unit's agents take them
        self.idle: list[list[_Agent]] = [[] for _ in self.units]
        self.requests: list[_Request] = []
        self.by_unit: list[list[_Request]] = [[] for _ in self.units]
        self.eta_every = eta_every
        self.shifts: list[list[Shift]] = []
        self.agents: list[list[_Agent]] = []
        self.result = SimulationResult(self.start, tuple(self.units))
        self.result.breaches = {unit: [] for unit in self.units}
        self.result.busy_minutes = dict.fromkeys(self.units, 0.0)
        self.result.unit_waits = {unit: [] for unit in self.units}
        self.result.present_minutes = dict.fromkeys(self.units, 0.0)

    # --- time ------------------------------------------------------------------------------------
    def minutes(self, moment: datetime) -> float:
        return max(0.0, (moment - self.start).total_seconds() / 60)

    def instant(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        """Run ``action`` at ``moment`` (now when it is past)."""
        delay = self.minutes(moment) - self.env.now
        if delay <= 0:
            action()
        else:
            self.env.timeout(delay).callbacks.append(lambda _event: action())

    # --- the queue -------------------------------------------------------------------------------
    def push(self, request: _Request) -> None:
        request.version += 1
        heap = self.pooled if request.pooled else self.local[request.owner]
        heapq.heappush(heap, (queue_key(request), request.version, request))

    def head(self, heap: list):
        while heap and (heap[0][2].version != heap[0][1] or heap[0][2].state != Status.QUEUED):
            heapq.heappop(heap)
        return heap[0] if heap else None

    def take(self, unit: int) -> _Request | None:
        """The first request in queue order that an agent of ``unit`` may call."""
        mine, anyone = self.head(self.local[unit]), self.head(self.pooled)
        if mine is None and anyone is None:
            return None
        heap = self.local[unit] if anyone is None or (mine is not None and mine[0] < anyone[0]) else self.pooled
        return heapq.heappop(heap)[2]

    def wake(self, unit: int | None) -> None:
        """Wake an idle agent of ``unit`` (of any unit: None) for new work."""
        for pool in ([self.idle[unit]] if unit is not None else self.idle):
            while pool:
                agent = pool.pop()
                if agent.wake is not None and not agent.wake.triggered:
                    agent.wake.succeed()
                    return

    def enqueue(self, request: _Request) -> None:
        """The request enters the queue now: its levels and overflow are scheduled from here."""
        now = self.instant(self.env.now)
        request.state, request.queued_at, request.pooled, request.not_before = Status.QUEUED, now, False, None
        load = self.scenario.units[request.owner]
        clock = self.rules.clock(load)
        overflow = request.queued_at + self.rules.overflow_after
        for level in self.rules.levels:
            moment = instant_at_share(request.submitted_at, request.deadline, level.share, clock)
            if level.overflow:
                overflow = min(overflow, moment)
            if level.priority > PRIORITY_NORMAL:
                if moment <= now:
                    request.priority = max(request.priority, level.priority)
                else:
                    self.at(moment, lambda r=request, p=level.priority: self.raise_priority(r, p))
        if overflow <= now:
            request.pooled = True
        else:
            self.at(overflow, lambda r=request, q=now: self.overflow(r, q))
        self.push(request)
        self.wake(None if request.pooled else request.owner)

    def raise_priority(self, request: _Request, priority: int) -> None:
        if priority > request.priority:
            request.priority = priority
            if request.state == Status.QUEUED:
                self.push(request)

    def overflow(self, request: _Request, queued_at: datetime) -> None:
        if request.state == Status.QUEUED and not request.pooled and request.queued_at == queued_at:
            request.pooled = True
            self.push(request)
            self.wake(None)

    # --- arrivals --------------------------------------------------------------------------------
    def add(self, owner: int, urgent: bool, submitted_at: datetime, deadline: datetime) -> _Request:
        request = _Request(len(self.requests), owner, urgent, submitted_at, deadline)
        self.requests.append(request)
        self.by_unit[owner].append(request)
        return request

    def backlog(self, owner: int, item: Backlog) -> None:
        whole = int(item.count)
        count = whole + (self.rng.random() < item.count - whole)
        for _ in range(count):
            request = self.add(owner, item.urgent, item.submitted_at, item.deadline)
            if item.deadline <= self.start:
                self.result.already_late += 1
            self.enqueue(request)

    def arrivals(self, owner: int, load: UnitLoad):
        clock = self.rules.clock(load)
        for hour in range(self.scenario.hours):
            rate = load.arrivals[hour] if hour < len(load.arrivals) else 0.0
            if rate <= 0:
                continue
            moment = hour * 60.0
            while True:
                moment += self.rng.expovariate(rate / 60)
                if moment >= (hour + 1) * 60:
                    break
                if moment > self.env.now:
                    yield self.env.timeout(moment - self.env.now)
                submitted = self.instant(moment)
                request = self.add(owner, self.rng.random() < load.urgent_share, submitted,
                                   sla_deadline(submitted, self.rules.sla_hours, calendar=clock))
                self.enqueue(request)
                if self.eta_every:
                    self.first_window(request)

    # --- agents ----------------------------------------------------------------------------------
    def presence(self, load: UnitLoad, until: datetime) -> list[tuple[float, float, int]]:
        """(from, to, agents) in minutes: the planned agents of each hour within opening hours; a
        fraction of an agent is one more agent for that share of the hour's open time."""
        periods = []
        hours = math.ceil(self.minutes(until) / 60)
        for hour in range(hours):
            agents = load.agents[min(hour, len(load.agents) - 1)] if load.agents else 0.0
            if agents <= 0:
                continue
            begin, end = self.instant(hour * 60), self.instant((hour + 1) * 60)
            intervals = [(begin, end)] if load.calendar is None else []
            if load.calendar is not None:
                for opening, closing in load.calendar.open_intervals(begin):
                    if opening >= end:
                        break
                    intervals.append((opening, min(closing, end)))
            whole, part = int(agents), agents - int(agents)
            spans = [(self.minutes(a), self.minutes(b)) for a, b in intervals if b > a]
            periods.extend((a, b, whole) for a, b in spans if whole)
            left = part * sum(b - a for a, b in spans)  # the last agent's share of the open time
            for a, b in spans:
                if left <= 1e-9:
                    break
                periods.append((a, min(b, a + left), whole + 1))
                left -= min(b, a + left) - a
        return periods

    def agent(self, agent: _Agent, periods: list[tuple[float, float]]):
        env, unit = self.env, agent.unit
        stats = self.scenario.units[unit].stats
        sigma = math.sqrt(math.log(1 + stats.variation ** 2))
        mu = math.log(stats.call_minutes) - sigma ** 2 / 2
        for begin, end in periods:
            if env.now < begin:
                yield env.timeout(begin - env.now)
            self.result.present_minutes[self.units[unit]] += end - max(begin, env.now)
            while env.now < end:
                request = self.take(unit)
                if request is None:
                    agent.wake = env.event()
                    self.idle[unit].append(agent)
                    yield agent.wake | env.timeout(end - env.now)
                    agent.wake = None
                    continue
                duration = self.rng.lognormvariate(mu, sigma)
                agent.busy_until = self.instant(env.now + duration)
                self.call(request, unit)
                yield env.timeout(duration)
                agent.busy_until = None
                self.result.busy_minutes[self.units[unit]] += duration
                self.outcome(request)

    def call(self, request: _Request, unit: int) -> None:
        request.state = Status.IN_CALL
        self.result.calls += 1
        if request.first_call is None:
            now = self.instant(self.env.now)
            request.first_call = now
            wait = (now - request.submitted_at).total_seconds() / 60
            self.result.waits.append(wait)
            self.result.unit_waits[self.units[request.owner]].append(wait)
            window = request.window
            if window is None:
                self.result.no_window += 1
            else:
                self.result.windows_judged += 1
                self.result.windows_inside += window.start <= now <= window.end
                self.result.window_widths.append(window.width.total_seconds() / 60)

    def outcome(self, request: _Request) -> None:
        now = self.instant(self.env.now)
        answered = self.rng.random() < self.answer[request.owner]
        step = after_outcome(Outcome.REACHED_RESOLVED if answered else Outcome.NO_ANSWER,
                             failed_before=request.failed, max_attempts=self.rules.max_attempts, now=now,
                             retry_gap=self.rules.retry_gap)
        request.failed, request.state = step.failed_attempts, step.status
        if step.reached:
            request.reached = now
            self.result.reached += 1
        elif step.status == Status.RETRY_WAIT:
            request.not_before = step.next_attempt_at
            self.at(step.next_attempt_at, lambda r=request: self.enqueue(r))
        elif step.status == Status.UNREACHABLE:
            self.result.unreachable += 1

    # --- the SLA ---------------------------------------------------------------------------------
    def judge(self, request: _Request) -> None:
        """Met by the first call, or by the first reach when the SLA counts reached artisans;
        those waiting at the start past their deadline are counted apart."""
        if request.deadline <= self.start:
            return
        met_at = request.reached if self.rules.met_on_reach else request.first_call
        if met_at is None or met_at > request.deadline:
            self.breach(request)

    def breach(self, request: _Request) -> None:
        hours = self.result.breaches[self.units[request.owner]]
        hour = int(self.minutes(request.deadline) // 60)
        hours.extend([0] * (hour + 1 - len(hours)))
        hours[hour] += 1

    # --- windows (calibration) ---------------------------------------------------------------------
    def estimate(self, unit: int, waiting: list[_Request]) -> dict:
        """``domain.eta``'s windows for a unit's queue (in queue order), now."""
        now = self.instant(self.env.now)
        busy = {agent.id: agent.busy_until for agent in self.agents[unit] if agent.busy_until is not None}
        present = [shift for shift in self.shifts[unit] if shift.end > now]
        load = self.scenario.units[unit]
        return estimate([Waiting(r.id, r.deadline, r.not_before) for r in waiting], present, now, load.stats,
                        load.calendar, busy)

    def waiting(self, unit: int) -> list[_Request]:
        self.by_unit[unit] = [r for r in self.by_unit[unit] if r.state not in _DONE]
        return sorted((r for r in self.by_unit[unit] if r.state in _WAITING), key=queue_key)

    def first_window(self, request: _Request) -> None:
        """The window told at submission: the unit's queue ahead of the request, then it (skipped
        for a long queue, where the periodic pass gives it long before its first call)."""
        if len(self.by_unit[request.owner]) > FIRST_WINDOW_QUEUE_LIMIT:
            return
        mine = queue_key(request)
        ahead = [r for r in self.waiting(request.owner) if queue_key(r) < mine]
        request.window = self.estimate(request.owner, [*ahead, request])[request.id]

    def windows(self):
        """The periodic pass: every unit's queue, a window kept until it moves by more than its width."""
        while True:
            for unit in range(len(self.units)):
                waiting = self.waiting(unit)
                if not waiting:
                    continue
                found = self.estimate(unit, waiting)
                for request in waiting:
                    window = found[request.id]
                    if request.first_call is None and moved(request.window, window):
                        request.window = window
            yield self.env.timeout(self.eta_every)

    # --- a run -----------------------------------------------------------------------------------
    def run(self) -> SimulationResult:
        scenario = self.scenario
        for owner, load in enumerate(scenario.units):
            for item in load.backlog:
                self.backlog(owner, item)
        last_deadline = max([self.start + timedelta(hours=scenario.hours + scenario.rules.sla_hours)]
                            + [item.deadline for load in scenario.units for item in load.backlog])
        clocks = [self.rules.clock(load) for load in scenario.units]
        if any(clocks):  # on the business clock, the last deadline is later in real time
            end_of_arrivals = self.start + timedelta(hours=scenario.hours)
            last_deadline = max([last_deadline] + [sla_deadline(end_of_arrivals, self.rules.sla_hours, calendar=c)
                                                   for c in clocks if c is not None])
        until = last_deadline + DRAIN_AFTER_LAST_DEADLINE
        shifts: list[list[Shift]] = []
        agents: list[list[_Agent]] = []
        number = 0
        for owner, load in enumerate(scenario.units):
            self.env.process(self.arrivals(owner, load))
            periods = self.presence(load, until)
            most = max((count for _a, _b, count in periods), default=0)
            mine, theirs = [], []
            for index in range(most):
                number += 1
                agent = _Agent(number, owner)
                own = _merge([(a, b) for a, b, count in periods if count > index])
                mine.append(agent)
                theirs.extend(Shift(agent.id, self.instant(a), self.instant(b)) for a, b in own)
                self.env.process(self.agent(agent, own))
            agents.append(mine)
            shifts.append(theirs)
        self.shifts, self.agents = shifts, agents
        if self.eta_every:
            self.env.process(self.windows())
        self.env.run(until=self.minutes(until))
        result = self.result
        result.requests = len(self.requests)
        for request in self.requests:
            self.judge(request)
        width = max(scenario.hours, *(len(hours) for hours in result.breaches.values()))
        for hours in result.breaches.values():
            hours.extend([0] * (width - len(hours)))
        return result


def _merge(periods: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for begin, end in sorted(periods):
        if merged and begin <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([begin, end])
    return [(a, b) for a, b in merged]


def simulate(scenario: Scenario, *, seed: int = 0, answer_rate: float | None = None,
             eta_every: float | None = None) -> SimulationResult:
    """One run. ``answer_rate``: each call's chance to reach the artisan (by default, the one that
    matches the units' recent attempts per request); ``eta_every``: minutes between recomputed
    windows (None: no calibration)."""
    return _Simulation(scenario, random.Random(seed), answer_rate, eta_every).run()


def simulate_many(scenario: Scenario, runs: int, *, seed: int = 0, **options) -> list[SimulationResult]:
    """``runs`` independent runs (seeds ``seed``, ``seed + 1``…)."""
    return [simulate(scenario, seed=seed + k, **options) for k in range(runs)]


