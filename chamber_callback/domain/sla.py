"""The SLA clock: when a request must have been called back, and how much of that time is used.

Two clocks, both pure (``now`` and calendars are passed in):
- calendar: deadline = submission + ``SLA_HOURS`` real hours (added in UTC, so a DST change
  does not shorten or lengthen it);
- business: only opening hours count (per weekday, in the unit's time zone), minus public
  holidays of the artisan's département and days a manager closed. A request submitted at
  night starts counting at opening.
A preferred later window moves the deadline to the end of that window. Time spent
``scheduled`` at the artisan's request pauses the clock; the pauses are derived from the
request's audit timeline, so any deadline can be rebuilt from history.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Monday–Saturday 08:00–21:00 (weekday → (opening, closing)).
DEFAULT_OPENING_HOURS: Mapping[int, tuple[time, time]] = {day: (time(8, 0), time(21, 0)) for day in range(6)}
MAX_DAYS_AHEAD = 370  # a calendar with no open day in a year is a configuration error

# holidays' subdivision codes for the départements with extra public holidays.
HOLIDAY_SUBDIVISIONS = {"57": "57", "67": "6AE", "68": "6AE", "971": "971", "972": "972", "973": "973",
                        "974": "974", "975": "PM", "976": "976"}


@lru_cache(maxsize=64)
def public_holidays(departement: str | None, year: int) -> frozenset[date]:
    """French public holidays of a year, with the département's own (Alsace-Moselle, overseas)."""
    subdiv = HOLIDAY_SUBDIVISIONS.get(departement or "")
    return frozenset(holidays.country_holidays("FR", subdiv=subdiv, years=year))


@dataclass(frozen=True)
class BusinessCalendar:
    """When the chamber answers: weekly hours in a time zone, minus closed days."""

    tz: ZoneInfo
    hours: Mapping[int, tuple[time, time]] = field(default_factory=lambda: DEFAULT_OPENING_HOURS)
    departement: str | None = None  # whose public holidays apply
    closed_days: frozenset[date] = frozenset()  # set by a manager

    def is_closed(self, day: date) -> bool:
        return day in self.closed_days or day in public_holidays(self.departement, day.year)

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open periods (UTC) from ``start`` on, the first one cut at ``start``."""
        day = start.astimezone(self.tz).date()
        for _ in range(MAX_DAYS_AHEAD):
            if day.weekday() in self.hours and not self.is_closed(day):
                opening, closing = self.hours[day.weekday()]
                # Local wall-clock times converted one by one: correct on DST days.
                begin = datetime.combine(day, opening, tzinfo=self.tz).astimezone(UTC)
                end = datetime.combine(day, closing, tzinfo=self.tz).astimezone(UTC)
                if end > start:
                    yield max(begin, start), end
            day += timedelta(days=1)
        raise ValueError("no opening hours in the coming year: check the calendar")


def add_open_time(start: datetime, duration: timedelta, calendar: BusinessCalendar | None) -> datetime:
    """The instant ``duration`` of open time after ``start`` (plain addition without calendar)."""
    start = start.astimezone(UTC)
    if calendar is None:
        return start + duration
    remaining = duration
    for begin, end in calendar.open_intervals(start):
        if end - begin >= remaining:
            return begin + remaining
        remaining -= end - begin
    raise AssertionError("unreachable")  # pragma: no cover - open_intervals raises first


def open_time_between(start: datetime, end: datetime, calendar: BusinessCalendar | None) -> timedelta:
    """How much open time lies between two instants (zero when ``end`` is before ``start``)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if calendar is None:
        return end - start
    total = timedelta(0)
    for begin, close in calendar.open_intervals(start):
        if begin >= end:
            break
        total += min(close, end) - begin
    return total


def sla_deadline(submitted_at: datetime, sla_hours: float, preferred_end: datetime | None = None,
                 calendar: BusinessCalendar | None = None, paused: timedelta = timedelta(0)) -> datetime:
    """Submission + SLA (of open time with a business calendar) + pauses; a preferred window
    ending later moves the deadline to its end."""
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be timezone-aware")
    deadline = add_open_time(submitted_at, timedelta(hours=sla_hours) + paused, calendar)
    if preferred_end is not None and preferred_end > deadline:
        return preferred_end.astimezone(UTC)
    return deadline


def sla_used(submitted_at: datetime, deadline: datetime, now: datetime,
             calendar: BusinessCalendar | None = None) -> float:
    """Share of the SLA already used: 0 at submission, 1 at the deadline, more after it."""
    total = open_time_between(submitted_at, deadline, calendar)
    if total <= timedelta(0):
        return 1.0 if now >= deadline else 0.0
    if now >= deadline:
        return 1.0 + (now - deadline) / total
    return open_time_between(submitted_at, now, calendar) / total


def instant_at_share(submitted_at: datetime, deadline: datetime, share: float,
                     calendar: BusinessCalendar | None = None) -> datetime:
    """When ``share`` (0–1) of the SLA will have been used."""
    total = open_time_between(submitted_at, deadline, calendar)
    return add_open_time(submitted_at, total * share, calendar) if share < 1 else deadline


PAUSING_STATUSES = frozenset({"scheduled"})  # a callback time agreed with the artisan


def paused_time(transitions: Iterable[tuple[datetime, str | None, str | None]], now: datetime,
                calendar: BusinessCalendar | None = None) -> timedelta:
    """Open time spent in a pausing status, from the timeline's (at, from, to) moves."""
    total, paused_since = timedelta(0), None
    for at, _from_status, to_status in sorted(transitions, key=lambda move: move[0]):
        if to_status in PAUSING_STATUSES and paused_since is None:
            paused_since = at
        elif to_status not in PAUSING_STATUSES and to_status is not None and paused_since is not None:
            total += open_time_between(paused_since, at, calendar)
            paused_since = None
    if paused_since is not None:
        total += open_time_between(paused_since, now, calendar)
    return total


def rebuild_deadline(submitted_at: datetime, sla_hours: float,
                     transitions: Iterable[tuple[datetime, str | None, str | None]], now: datetime,
                     preferred_end: datetime | None = None, calendar: BusinessCalendar | None = None) -> datetime:
    """The deadline as the history says: the clock stops while the request is scheduled."""
    return sla_deadline(submitted_at, sla_hours, preferred_end, calendar,
                        paused=paused_time(transitions, now, calendar))
