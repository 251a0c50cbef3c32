"""The 24-hour outlook for managers (pure): arrivals to expect, breaches to come, and the fewest
extra agent-hours that would prevent them.

Arrivals: for each hour ahead, the same weekday and hour over the last weeks, multiplied by the
ratio of what arrived in the last hours to what those weeks had then (the surge of a crisis
shows there first); without history, the last hours' rate.

Breaches: a fluid model of the queue, in quarter-hour steps. Requests are cohorts (a unit, urgent
or not, a deadline, a number of requests). Each step, each unit's agents (within its opening
hours) make calls at the unit's recent pace (a call, wrap-up included) in the queue's own order
(``domain.queue``): top priority first (breached requests), then urgent, then the earliest
deadline. The calls left unanswered (at the rate that gives the unit's recent attempts per
request) come back as a cohort after the retry gap, up to the last attempt; they take agents'
time but cannot breach, the first call having met the SLA. When the SLA is met only by reaching
the artisan, a request costs all its attempts at once instead. A request is its unit's alone until it
overflows (after ``overflow_after`` in the queue, or at the escalation level that says so); then
any unit's agents take it in the same order. A cohort still waiting when its deadline passes is
a breach, counted in the hour of its deadline.

Staffing: the same pass, where a cohort about to breach at its unit's last open step before the
deadline is served by extra agents in that step instead (then counted as whole agents over each
hour, enough for every step of it): adding capacity as late as possible is
the least that meets every deadline (for one server in deadline order; here close to it). The
95 % plan lets the first 5 % of the requests breach instead of paying for them.

The discrete-event simulator (``chamber_callback.simulation``) replays the same rules request by
request; the bench compares the two.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .escalation import instant_at_share
from .scenario import BreachCounts, Rules, Scenario, UnitLoad, answer_rate_for
from .sla import sla_deadline

STEP = timedelta(minutes=15)
STEPS_PER_HOUR = 4
HOUR = timedelta(hours=1)
HISTORY_WEEKS = 4
TREND_HOURS = 3
TREND_LIMITS = (0.2, 25.0)
AGENT_FRACTION_IGNORED = 0.05  # an extra agent for 3 minutes is not a recommendation


# --- arrivals -----------------------------------------------------------------------------------

def _same_hour_weeks_before(moment: datetime, weeks: int, tz: ZoneInfo) -> datetime:
    """The same local weekday and hour ``weeks`` weeks earlier (in UTC)."""
    local = moment.astimezone(tz).replace(tzinfo=None) - timedelta(weeks=weeks)
    return local.replace(tzinfo=tz).astimezone(UTC)


def expected_arrivals(history: Mapping[datetime, int], start: datetime, hours: int, tz: ZoneInfo, *,
                      since: datetime | None, weeks: int = HISTORY_WEEKS, trend_hours: int = TREND_HOURS
                      ) -> tuple[float, ...]:
    """Requests expected in each hour from ``start`` (on the hour, UTC).

    ``history``: requests received per UTC hour (its start); ``since``: when the history begins
    (the first request), so that weeks before it do not count as quiet ones.
    """
    def base(moment: datetime) -> float | None:
        past = [_same_hour_weeks_before(moment, k, tz) for k in range(1, weeks + 1)]
        known = [history.get(hour, 0) for hour in past if since is not None and hour >= since]
        return sum(known) / len(known) if known else None

    recent_hours = [start - timedelta(hours=k) for k in range(1, trend_hours + 1)]
    observed = sum(history.get(hour, 0) for hour in recent_hours)
    recent_rate = observed / trend_hours
    bases = [base(hour) for hour in recent_hours]
    expected_then = sum(b for b in bases if b is not None)
    usable = all(b is not None for b in bases) and expected_then >= 1
    factor = min(max((observed + 1) / (expected_then + 1), TREND_LIMITS[0]), TREND_LIMITS[1])
    result = []
    for k in range(hours):
        usual = base(start + timedelta(hours=k))
        result.append(usual * factor if usable and usual is not None else recent_rate)
    return tuple(result)


# --- the fluid projection -----------------------------------------------------------------------

TOP_URGENT, TOP, URGENT, NORMAL = range(4)
POOLED = -1


class _Cohort:
    __slots__ = ("attempt", "before", "counted", "deadline", "deadline_step", "fraction", "last_chance",
                 "overflow_step", "remaining", "seq", "top_step", "uid", "unit", "urgent", "version")

    def __init__(self, seq, unit, urgent, remaining, deadline, deadline_step, overflow_step, top_step, last_chance):
        self.seq, self.unit, self.urgent, self.remaining = seq, unit, urgent, remaining
        self.deadline, self.deadline_step = deadline, deadline_step
        self.overflow_step, self.top_step, self.last_chance = overflow_step, top_step, last_chance
        self.counted, self.version, self.attempt, self.uid = False, 0, 1, seq
        self.fraction = self.before = 0.0  # of the deadline's step before it; what was left then


@dataclass
class Projection(BreachCounts):
    start: datetime
    units: tuple[str, ...]
    requests: float  # waiting now and arriving in the scenario's hours
    breaches: dict[str, list[float]]  # per unit, per hour from the start (the hour the deadline passes)
    already_late: dict[str, float]  # waiting now past their deadline
    unavoidable: float  # no open hour of their unit is left before the deadline
    extra_agents: dict[str, list[float]] = field(default_factory=dict)  # staffing: agents to add, per hour

    @property
    def extra_agent_hours(self) -> int:
        """Whole agents per hour slot, summed: what a senior would plan."""
        return sum(agents for slots in self.staffing_slots().values() for _hour, agents in slots)

    def staffing_slots(self) -> dict[str, list[tuple[int, int]]]:
        """Per unit, (hour from the start, whole agents to add) where any are needed."""
        return {unit: [(hour, math.ceil(value - AGENT_FRACTION_IGNORED)) for hour, value in enumerate(values)
                       if value > AGENT_FRACTION_IGNORED]
                for unit, values in self.extra_agents.items()}


def _step_of(moment: datetime, start: datetime) -> int:
    """The step an instant falls in (rounded up: a level due mid-step applies from the next)."""
    return math.ceil((moment - start) / STEP)


def _open_fractions(load: UnitLoad, start: datetime, steps: int) -> list[float]:
    fractions = [0.0] * steps
    end = start + STEP * steps
    if load.calendar is None:
        return [1.0] * steps
    for begin, close in load.calendar.open_intervals(start):
        if begin >= end:
            break
        first = int((begin - start) / STEP)
        last = min(steps - 1, int((close - start - timedelta(microseconds=1)) / STEP))
        for k in range(first, last + 1):
            step_start = start + STEP * k
            overlap = min(close, step_start + STEP) - max(begin, step_start)
            fractions[k] += overlap / STEP
    return fractions


def open_share_per_hour(load: UnitLoad, start: datetime, hours: int) -> list[float]:
    """The share of each hour from ``start`` that the unit is open (its agents call)."""
    fractions = _open_fractions(load, start, hours * STEPS_PER_HOUR)
    return [sum(fractions[h * STEPS_PER_HOUR:(h + 1) * STEPS_PER_HOUR]) / STEPS_PER_HOUR for h in range(hours)]


def _agents_at(load: UnitLoad, hour: int) -> float:
    if not load.agents:
        return 0.0
    return load.agents[min(hour, len(load.agents) - 1)]


def _service_minutes(load: UnitLoad) -> float:
    return load.stats.call_minutes * max(1.0, load.stats.attempts_per_request)


def _levels_at(submitted: datetime, deadline: datetime, queued: datetime, rules: Rules, load: UnitLoad
               ) -> tuple[datetime, datetime]:
    """When the request overflows and when it jumps to the head of the queue."""
    clock = rules.clock(load)
    overflow = queued + rules.overflow_after
    if rules.overflow_share is not None:
        overflow = min(overflow, instant_at_share(submitted, deadline, rules.overflow_share, clock))
    top = (instant_at_share(submitted, deadline, rules.top_share, clock) if rules.top_share is not None
           else datetime.max.replace(tzinfo=UTC))
    return overflow, top


def project(scenario: Scenario, *, staffing_target: float | None = None) -> Projection:
    """The breaches to come with the planned agents, or (``staffing_target``, 1.0 or 0.95) the extra
    agents per unit and hour that keep that share of the requests within the SLA."""
    start, rules = scenario.start, scenario.rules
    units = [load.unit for load in scenario.units]
    index = {code: i for i, code in enumerate(units)}
    # The cohorts: the backlog, then a quarter-hour of arrivals at a time (urgent ones apart).
    raw: list[tuple[int, bool, float, datetime, datetime, datetime, datetime]] = []
    already_late = dict.fromkeys(units, 0.0)
    for load in scenario.units:
        u = index[load.unit]
        for item in load.backlog:
            overflow, top = _levels_at(item.submitted_at, item.deadline, item.submitted_at, rules, load)
            raw.append((u, item.urgent, item.count, item.submitted_at, item.deadline, overflow, top))
            if item.deadline <= start:
                already_late[load.unit] += item.count
        clock = rules.clock(load)
        for k in range(scenario.hours * STEPS_PER_HOUR):
            expected = (load.arrivals[k // STEPS_PER_HOUR] if k // STEPS_PER_HOUR < len(load.arrivals) else 0.0)
            expected /= STEPS_PER_HOUR
            if expected <= 0:
                continue
            arrival = start + STEP * k + STEP / 2
            deadline = sla_deadline(arrival, rules.sla_hours, calendar=clock)
            overflow, top = _levels_at(arrival, deadline, arrival, rules, load)
            for urgent, share in ((True, load.urgent_share), (False, 1 - load.urgent_share)):
                if share > 0:
                    raw.append((u, urgent, expected * share, arrival, deadline, overflow, top))
    requests = sum(item[2] for item in raw)
    last_deadline = max((item[4] for item in raw), default=start)
    steps = max(_step_of(last_deadline, start), scenario.hours * STEPS_PER_HOUR) + 2 * STEPS_PER_HOUR
    hours_out = math.ceil(steps / STEPS_PER_HOUR)
    open_fraction = [_open_fractions(load, start, steps) for load in scenario.units]
    last_open = []  # per unit: the last step with opening up to each step (-1: none)
    for fractions in open_fraction:
        latest, marks = -1, []
        for k, value in enumerate(fractions):
            latest = k if value > 0 else latest
            marks.append(latest)
        last_open.append(marks)
    service = [_service_minutes(load) for load in scenario.units]  # a request's calls, all attempts
    call = [timedelta(minutes=load.stats.call_minutes) for load in scenario.units]
    retries = not rules.met_on_reach  # the first call meets the SLA: retries are calls of their own, later
    cost = [load.stats.call_minutes if retries else service[u] for u, load in enumerate(scenario.units)]
    answer = [answer_rate_for(load.stats, rules.max_attempts) for load in scenario.units]
    gap_steps = max(1, round(rules.retry_gap / STEP))
    overflow_steps = max(0, _step_of(start + rules.overflow_after, start))
    sequence = len(raw)

    due: list[list[_Cohort]] = [[] for _ in range(steps + 1)]  # cohorts to look at, per step
    heaps: dict[tuple[int, int], list] = {(owner, rank): [] for owner in [*range(len(units)), POOLED]
                                          for rank in range(4)}
    deadlines: list[list[_Cohort]] = [[] for _ in range(steps + 1)]
    chances: list[list[_Cohort]] = [[] for _ in range(steps + 1)]
    unavoidable = 0.0
    arrivals_at: list[list[_Cohort]] = [[] for _ in range(steps + 1)]
    for seq, (u, urgent, count, submitted, deadline, overflow, top) in enumerate(raw):
        arrival_step = max(0, int((submitted - start) / STEP))
        # A call that starts by the deadline meets it: what is served up to a call's length after
        # the deadline was in time. That instant falls in step ``deadline_step``, ``fraction`` in.
        moment = max(0.0, min(float(steps), (deadline - start + call[u]) / STEP))
        deadline_step = min(steps, math.floor(moment))
        fraction = moment - deadline_step
        # Extra agents help only in a step wholly before that instant.
        last_chance = last_open[u][deadline_step - 1] if deadline_step >= 1 else -1
        if last_chance < arrival_step:
            last_chance = -1
        cohort = _Cohort(seq, u, urgent, count, deadline, deadline_step, max(arrival_step, _step_of(overflow, start)),
                         max(0, _step_of(top, start)), last_chance)
        cohort.fraction = fraction
        if deadline > start and last_chance < 0:
            unavoidable += count
        arrivals_at[arrival_step].append(cohort)
        deadlines[deadline_step].append(cohort)
        if last_chance >= 0:
            chances[last_chance].append(cohort)
        for moment in (cohort.overflow_step, cohort.top_step):
            if arrival_step < moment <= steps:
                due[moment].append(cohort)

    def place(cohort: _Cohort, k: int) -> None:
        cohort.version += 1
        owner = POOLED if k >= cohort.overflow_step else cohort.unit
        top = k >= cohort.top_step
        rank = (TOP_URGENT if cohort.urgent else TOP) if top else (URGENT if cohort.urgent else NORMAL)
        # Retries of a cohort come before what is left of it (their requests were earlier in line).
        heapq.heappush(heaps[(owner, rank)], (cohort.deadline, cohort.seq, -cohort.attempt, cohort.uid, cohort.version,
                                              cohort))

    def head(key: tuple[int, int]):
        heap = heaps[key]
        while heap and (heap[0][5].version != heap[0][4] or heap[0][5].remaining <= 1e-9):
            heapq.heappop(heap)
        return heap[0] if heap else None

    breaches = {code: [0.0] * hours_out for code in units}
    extra_minutes = [[0.0] * steps for _ in units]  # staffing: agent-minutes needed in each step
    budget = (1 - staffing_target) * requests if staffing_target is not None else 0.0
    for k in range(steps):
        for cohort in arrivals_at[k]:
            place(cohort, k)
        for cohort in due[k]:
            if cohort.remaining > 1e-9:
                place(cohort, k)
        for cohort in deadlines[k]:
            cohort.before = cohort.remaining
        hour = k // STEPS_PER_HOUR
        step_capacity = [_agents_at(load, hour) * open_fraction[u][k] * (STEP.total_seconds() / 60) / cost[u]
                         for u, load in enumerate(scenario.units)]

        def late(cohort: _Cohort, k: int = k, step_capacity: list[float] = step_capacity) -> float:
            """What of a cohort whose deadline falls in this step is not called in time: what is
            left, and what was served in the step after its deadline (it is served first)."""
            served_here = cohort.before - cohort.remaining
            able = sum(step_capacity) if k >= cohort.overflow_step else step_capacity[cohort.unit]
            return cohort.remaining + max(0.0, served_here - cohort.fraction * able)

        def breach(cohort: _Cohort, count: float) -> None:
            cohort.counted = True
            if count > 1e-9 and cohort.deadline > start:
                hour_of_deadline = min(hours_out - 1, int((cohort.deadline - start) / HOUR))
                breaches[units[cohort.unit]][hour_of_deadline] += count

        for u in range(len(units)):
            capacity = step_capacity[u]
            while capacity > 1e-9:
                best = None
                for rank in range(4):
                    for owner in (u, POOLED):
                        entry = head((owner, rank))
                        if entry is not None and (best is None or entry[:4] < best[1][:4]):
                            best = ((owner, rank), entry)
                    if best is not None:
                        break
                if best is None:
                    break
                cohort = best[1][5]
                served = min(capacity, cohort.remaining)
                cohort.remaining -= served
                capacity -= served
                again = served * (1 - answer[cohort.unit])
                if retries and cohort.attempt < rules.max_attempts and again > 1e-9 and k + gap_steps < steps:
                    back = k + gap_steps  # a retry is queued again: its overflow counts from then
                    overflow_step = min(cohort.overflow_step if cohort.overflow_step <= k else steps,
                                        back + overflow_steps)
                    retry = _Cohort(cohort.seq, cohort.unit, cohort.urgent, again, cohort.deadline,
                                    cohort.deadline_step, overflow_step, cohort.top_step, -1)
                    sequence += 1
                    retry.counted, retry.attempt, retry.uid = True, cohort.attempt + 1, sequence
                    arrivals_at[back].append(retry)
                    if retry.overflow_step > back:
                        due[retry.overflow_step].append(retry)
                    if back < retry.top_step <= steps:
                        due[retry.top_step].append(retry)
        if staffing_target is not None:
            for cohort in chances[k]:
                if cohort.counted or cohort.deadline <= start:
                    continue
                if cohort.remaining <= 1e-9:
                    continue
                allowed = min(budget, cohort.remaining)  # the 95 % plan lets the first 5 % breach
                budget -= allowed
                paid = cohort.remaining - allowed
                if paid > 1e-9:
                    extra_minutes[cohort.unit][k] += paid * service[cohort.unit]
                    cohort.remaining = allowed
        for cohort in deadlines[k]:
            if not cohort.counted:
                breach(cohort, late(cohort))
    projection = Projection(start, tuple(units), requests, breaches, already_late, unavoidable)
    if staffing_target is not None:
        projection.extra_agents = {code: _agents_per_hour(extra_minutes[u], open_fraction[u], hours_out)
                                   for u, code in enumerate(units)}
    return projection


def _agents_per_hour(minutes: list[float], open_fraction: list[float], hours: int) -> list[float]:
    """The agents to add for a whole hour so that, at each step of it, the agent-minutes needed so
    far in the hour fit in the open time so far."""
    agents = [0.0] * hours
    for hour in range(hours):
        needed = available = 0.0
        for k in range(hour * STEPS_PER_HOUR, min(len(minutes), (hour + 1) * STEPS_PER_HOUR)):
            needed += minutes[k]
            available += open_fraction[k] * STEP.total_seconds() / 60
            if needed > 1e-9 and available > 0:
                agents[hour] = max(agents[hour], needed / available)
    return agents
