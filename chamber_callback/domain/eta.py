"""When the first call should come: a window for every waiting request of a unit (pure).

The unit's queue is served in the real queue order (``domain.queue``) by its agents. Each agent
is a server, ``capacity`` calls at a time, free now or once its current call ends, working while
present: now (its state), and when planned (the roster), within the unit's opening hours. Every
request ahead costs its first call, and the further attempts a request needs on average (retries
come back ahead of later requests, their deadlines being earlier). Walking the queue gives each
request an expected start; the window around it widens with the number of calls before it (the
sum of many call durations varies like its square root), and never ends after the deadline.

The model is measured against what then happens: the window announced for each first call is
stored with the time the call really started (``services.eta``), and the dashboard shows the
share of first calls that started inside their window.
"""
from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .sla import BusinessCalendar

MIN_HALF_WIDTH = timedelta(minutes=10)
MAX_WIDTH = timedelta(hours=3)
ROUND_TO = timedelta(minutes=15)
Z_80 = 1.28  # a window holding about 80 % of the outcomes


@dataclass(frozen=True)
class CallStats:
    """Recent figures of a unit (medians over recent calls, with defaults when there are few)."""

    call_minutes: float = 8.0  # one attempt, wrap-up included
    attempts_per_request: float = 1.3  # calls a request costs, retries included
    variation: float = 0.8  # coefficient of variation of a call's duration


@dataclass(frozen=True)
class Shift:
    """An agent present from ``start`` to ``end`` (UTC), ``capacity`` calls at a time."""

    agent_id: int
    start: datetime
    end: datetime
    capacity: int = 1


@dataclass(frozen=True)
class Waiting:
    """A waiting request, in queue order; ``not_before``: a preferred window's start, a retry time."""

    id: int
    deadline: datetime
    not_before: datetime | None = None


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime
    expected: datetime
    # None: estimated; "no_agent": nobody present or planned before the deadline; "late": more
    # requests ahead than the agents can call before it.
    reason: str | None = None

    @property
    def width(self) -> timedelta:
        return self.end - self.start


def _floor(moment: datetime) -> datetime:
    seconds = ROUND_TO.total_seconds()
    return datetime.fromtimestamp(moment.timestamp() // seconds * seconds, moment.tzinfo)


def _ceil(moment: datetime) -> datetime:
    floored = _floor(moment)
    return floored if floored == moment else floored + ROUND_TO


def _open_periods(shifts: Iterable[Shift], calendar: BusinessCalendar | None, now: datetime,
                  horizon: datetime) -> list[tuple[datetime, datetime, int, int]]:
    """Each shift from now on, cut to the opening hours when a calendar is given:
    (start, end, capacity, agent id)."""
    periods = []
    for shift in shifts:
        start, end = max(shift.start, now), min(shift.end, horizon)
        if end <= start:
            continue
        if calendar is None:
            periods.append((start, end, shift.capacity, shift.agent_id))
            continue
        for begin, close in calendar.open_intervals(start):
            if begin >= end:
                break
            periods.append((begin, min(close, end), shift.capacity, shift.agent_id))
    return periods


def estimate(queue: Sequence[Waiting], shifts: Iterable[Shift], now: datetime, stats: CallStats,
             calendar: BusinessCalendar | None = None, busy_until: dict[int, datetime] | None = None
             ) -> dict[int, Window]:
    """A window for each request of ``queue`` (in queue order).

    ``shifts``: when each agent works (now and planned); ``busy_until``: agents in a call now, and
    when that call should end. A request no shift reaches before its deadline gets a window ending
    at the deadline, with the reason ``no_agent``.
    """
    return dict(_walk(queue, shifts, now, stats, calendar, busy_until, windows_from=0))


def estimate_last(queue: Sequence[Waiting], shifts: Iterable[Shift], now: datetime, stats: CallStats,
                  calendar: BusinessCalendar | None = None, busy_until: dict[int, datetime] | None = None,
                  first: int = 0) -> Window | None:
    """The window of the last request of ``queue`` alone: the same walk as ``estimate``, but the
    requests ahead only take their call slots (a new request's window, without the others').
    ``first``: how many requests come before all of ``queue`` with no time to wait for (each takes
    the first free slot), counted rather than listed."""
    if not queue:
        return None
    return dict(_walk(queue, shifts, now, stats, calendar, busy_until, windows_from=len(queue) - 1,
                      anonymous=first))[queue[-1].id]


def _walk(queue: Sequence[Waiting], shifts: Iterable[Shift], now: datetime, stats: CallStats,
          calendar: BusinessCalendar | None, busy_until: dict[int, datetime] | None, *, windows_from: int,
          anonymous: int = 0) -> Iterator[tuple[int, Window]]:
    """Serve ``anonymous`` untimed requests, then ``queue`` in order; yield (id, window) for the
    requests of ``queue`` from index ``windows_from``."""
    if not queue:
        return
    service = timedelta(minutes=stats.call_minutes * max(stats.attempts_per_request, 1.0))
    horizon = max(w.deadline for w in queue) + timedelta(days=1)
    busy_until = busy_until or {}
    periods = sorted(_open_periods(shifts, calendar, now, horizon))
    # One server per call slot of each period of presence: [free at, end]; an agent in a call
    # now starts its current period when the call should end.
    slots: list[tuple[datetime, int, datetime]] = []
    for number, (start, end, capacity, agent_id) in enumerate(periods):
        for slot in range(capacity):
            free = start
            if slot == 0 and start <= now < end and agent_id in busy_until:
                free = max(start, busy_until[agent_id])
            slots.append((free, number * 100 + slot, end))
    heapq.heapify(slots)
    first_open = periods[0][0] if periods else now  # nobody calls before the first agent works
    def take(earliest: datetime) -> datetime | None:
        """The first slot free from ``earliest`` with enough of its period left; it is taken."""
        start, put_back = None, []
        while slots:
            free, key, end = heapq.heappop(slots)
            begin = max(free, earliest)
            if begin + service / 4 <= end:  # enough of the period left to start a call
                start = begin
                heapq.heappush(slots, (begin + service, key, end))
                break
            if free + service / 4 <= end:
                put_back.append((free, key, end))  # ends before this request may be called; a later one may fit
        for slot in put_back:
            heapq.heappush(slots, slot)
        return start

    served = 0
    for _ in range(anonymous):
        if take(now) is None:
            break
        served += 1
    for index, waiting in enumerate(queue):
        earliest = max(now, waiting.not_before or now)
        start = take(earliest)
        if start is None or start >= waiting.deadline:
            # Nobody before the deadline, or too many before it: the deadline is what can be said
            # (a late request is raised, then breached and offered to every unit: it goes sooner).
            if index >= windows_from:
                yield waiting.id, Window(_floor(max(now, waiting.deadline - ROUND_TO)), waiting.deadline,
                                         waiting.deadline, reason="no_agent" if start is None else "late")
            continue
        served += 1
        if index < windows_from:
            continue
        concurrent = max(1, sum(1 for free, _key, end in slots if free - service <= start < end))
        calls_before = served / concurrent
        half = max(MIN_HALF_WIDTH, min(service * (Z_80 * stats.variation * math.sqrt(calls_before)), MAX_WIDTH / 2))
        soonest = max(earliest, first_open)  # the window never opens before a call is possible
        begin, finish = _floor(max(soonest, start - half)), min(_ceil(start + half), waiting.deadline)
        if finish - begin < ROUND_TO:
            begin = _floor(max(soonest, finish - ROUND_TO))
        yield waiting.id, Window(begin, finish, start)


def moved(old: Window | None, new: Window) -> bool:
    """Worth storing again: no window yet, or it moved by more than its own width."""
    if old is None or old.reason != new.reason:
        return True
    shift = abs((new.expected - old.expected).total_seconds())
    return shift > max(old.width.total_seconds(), ROUND_TO.total_seconds())
