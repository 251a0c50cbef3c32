"""The 24-hour outlook, from the database: the scenario of what is waiting, what should arrive and
who is planned, projected by ``domain.forecast``; and the what-if a manager tries on it.

The scenario starts at the current hour (so that its hours are clock hours); the part of it
already gone carries no agent time, and the arrivals still expected in it are the rest of the
hour's. The base scenario is read once a minute at most (``FORECAST_CACHE_SECONDS``); a what-if
only changes it in memory.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from ..domain.eta import Shift
from ..domain.forecast import HISTORY_WEEKS, Projection, expected_arrivals, project
from ..domain.scenario import Backlog, Rules, Scenario, UnitLoad
from ..extensions import db, zone_named
from ..models import CallbackRequest, RegionalUnit
from ..process_cache import ProcessCache
from . import eta
from .queue import CALLBACKS
from .settings import get as setting
from .sla import levels
from .stats.sql import utc_hour

R = CallbackRequest
HOURS = 24
PLANNED_HOURS = 7 * 24  # agents known from the roster, a week ahead (deadlines fall after the 24 hours)
URGENT_DAYS = 7
MIN_URGENT_SAMPLE = 20
DEFAULT_URGENT_SHARE = 0.2
BACKLOG_BUCKET = timedelta(minutes=15)


def _hour_floor(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def rules() -> Rules:
    return Rules(sla_hours=setting("SLA_HOURS"), business_clock=setting("SLA_CLOCK") == "business",
                 levels=levels(), overflow_after=timedelta(minutes=current_app.config["OVERFLOW_AFTER_MINUTES"]),
                 retry_gap=timedelta(minutes=setting("RETRY_GAP_MINUTES")), max_attempts=setting("MAX_ATTEMPTS"),
                 met_on_reach=setting("SLA_MET_ON") == "first_reach")


def _history(start: datetime) -> tuple[dict[int, dict[datetime, int]], datetime | None]:
    """Requests received per unit and UTC hour, over the weeks the arrivals are read from."""
    since = start - timedelta(weeks=HISTORY_WEEKS, hours=1)
    hour = utc_hour(R.submitted_at)
    by_unit: dict[int, dict[datetime, int]] = defaultdict(dict)
    for unit_id, key, count in db.session.execute(
            select(R.unit_id, hour, func.count()).where(R.submitted_at >= since, R.submitted_at < start, CALLBACKS)
            .group_by(R.unit_id, hour)):
        by_unit[unit_id][datetime.strptime(key, "%Y-%m-%d %H").replace(tzinfo=UTC)] = count
    first = db.session.scalar(select(func.min(R.submitted_at)).where(CALLBACKS))
    return by_unit, (first.replace(tzinfo=UTC) if first and first.tzinfo is None else first)


def _urgent_shares(now: datetime) -> dict[int, float]:
    rows = db.session.execute(select(R.unit_id, func.count(), func.sum(func.cast(R.urgent, db.Integer)))
                              .where(R.submitted_at >= now - timedelta(days=URGENT_DAYS), CALLBACKS)
                              .group_by(R.unit_id))
    return {unit_id: (urgent or 0) / total for unit_id, total, urgent in rows if total >= MIN_URGENT_SAMPLE}


def _backlogs(now: datetime) -> dict[int, list[Backlog]]:
    """The waiting requests, as cohorts of a quarter-hour of deadlines."""
    groups: dict[tuple, list] = {}
    for unit_id, urgent, submitted, deadline in db.session.execute(
            select(R.unit_id, R.urgent, R.submitted_at, R.sla_deadline).where(R.status.in_(eta.ESTIMATED), CALLBACKS)):
        deadline = deadline if deadline.tzinfo else deadline.replace(tzinfo=UTC)
        submitted = submitted if submitted.tzinfo else submitted.replace(tzinfo=UTC)
        bucket = math.floor((deadline - now) / BACKLOG_BUCKET)
        group = groups.setdefault((unit_id, bool(urgent), bucket), [submitted, deadline, 0])
        group[0], group[1], group[2] = min(group[0], submitted), min(group[1], deadline), group[2] + 1
    result: dict[int, list[Backlog]] = defaultdict(list)
    for (unit_id, urgent, _bucket), (submitted, deadline, count) in sorted(groups.items()):
        result[unit_id].append(Backlog(str(unit_id), submitted, deadline, urgent, count))
    return result


def agents_per_hour(shifts: list[Shift], start: datetime, now: datetime, hours: int) -> tuple[float, ...]:
    """Agents (call slots) present in each hour from ``start``, by the share of the hour they are
    there; the time before ``now`` is gone."""
    counts = [0.0] * hours
    for shift in shifts:
        begin, end = max(shift.start, now, start), min(shift.end, start + timedelta(hours=hours))
        while begin < end:
            index = int((begin - start) / timedelta(hours=1))
            limit = min(end, start + timedelta(hours=index + 1))
            counts[index] += shift.capacity * ((limit - begin) / timedelta(hours=1))
            begin = limit
    return tuple(counts)


@dataclass(frozen=True)
class Outlook:
    scenario: Scenario
    names: dict[str, str]  # unit code → name
    staffed: dict[str, bool]  # whether anyone is present or planned in the unit
    read_at: datetime


def build(now: datetime) -> Outlook:
    """The scenario of the coming hours, read from the database."""
    start = _hour_floor(now)
    units = db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.id)).all()
    history, since = _history(start)
    shares = _urgent_shares(now)
    backlogs = _backlogs(now)
    tz = zone_named(current_app.config["TIMEZONE"])
    elapsed = (now - start) / timedelta(hours=1)
    loads, names, staffed = [], {}, {}
    for unit in units:
        arrivals = list(expected_arrivals(history.get(unit.id, {}), start, HOURS, tz, since=since))
        arrivals[0] *= 1 - elapsed  # what is still to come this hour
        stats = eta.call_stats(unit.id, now)
        shifts, _busy = eta.presence(unit.id, now, stats)
        agents = agents_per_hour(shifts, start, now, PLANNED_HOURS)
        code = unit.code
        loads.append(UnitLoad(code, tuple(arrivals), agents, eta.calendar(unit), stats,
                              shares.get(unit.id, DEFAULT_URGENT_SHARE),
                              tuple(replace(item, unit=code) for item in backlogs.get(unit.id, ()))))
        names[code], staffed[code] = unit.name, any(agents)
    return Outlook(Scenario(start, tuple(loads), rules(), HOURS), names, staffed, now)


_cache = ProcessCache()


def current(now: datetime) -> Outlook:
    """The base scenario, shared for ``FORECAST_CACHE_SECONDS`` within the hour (what-ifs are
    computed on it)."""
    return _cache.get(id(current_app._get_current_object()), current_app.config["FORECAST_CACHE_SECONDS"],
                      lambda: build(now), still_good=lambda outlook: _hour_floor(outlook.read_at) == _hour_floor(now))


@dataclass(frozen=True)
class WhatIf:
    """A manager's change to the plan: agents added (or removed) per unit, another SLA."""

    agents: dict[str, int]
    sla_hours: float | None = None

    @property
    def empty(self) -> bool:
        return not any(self.agents.values()) and self.sla_hours is None

    def apply(self, scenario: Scenario) -> Scenario:
        changed = scenario.with_agents({code: n for code, n in self.agents.items() if n})
        return changed.with_sla(self.sla_hours) if self.sla_hours is not None else changed


@dataclass(frozen=True)
class Forecast:
    outlook: Outlook
    arrivals: dict[str, tuple[float, ...]]
    projection: Projection
    full: Projection  # the extra agents for every request within the SLA
    most: Projection  # … for 95 % of them
    what_if: Projection | None = None


def forecast(now: datetime, change: WhatIf | None = None) -> Forecast:
    outlook = current(now)
    scenario = outlook.scenario
    arrivals = {load.unit: load.arrivals for load in scenario.units}
    what_if = project(change.apply(scenario)) if change is not None and not change.empty else None
    return Forecast(outlook, arrivals, project(scenario), project(scenario, staffing_target=1.0),
                    project(scenario, staffing_target=0.95), what_if)


__all__ = ["Forecast", "Outlook", "WhatIf", "build", "forecast"]
