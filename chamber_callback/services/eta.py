"""The expected callback windows: computed by ``domain.eta`` from the database, stored on the
requests, read by the pages, the API and the messages.

A periodic job recomputes each unit's whole queue in one pass and writes only the windows that
moved by more than their width; a submission gets its window at once (its confirmation says it).
When a window slips far past the one first told, the artisan gets one message saying so.
"""
from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from ..domain.eta import CallStats, Shift, Waiting, Window, estimate, estimate_last, moved
from ..domain.lifecycle import Status
from ..domain.roles import TAKES_CALLS
from ..domain.routing import Availability
from ..domain.sla import BusinessCalendar
from ..extensions import db, update_many
from ..models import CallAttempt, CallbackRequest, RegionalUnit, StaffUser
from ..process_cache import ProcessCache
from ..queues import enqueue_message
from . import roster
from .queue import CALLBACKS, ahead_of, queue_order
from .sla import closed_days, opening_hours
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
R = CallbackRequest
# Waiting for a first call (or the next one): what gets a window.
ESTIMATED = (Status.QUEUED.value, Status.OFFERED.value, Status.RETRY_WAIT.value, Status.SCHEDULED.value)
PRESENT = (Availability.AVAILABLE.value, Availability.BUSY.value, Availability.WRAP_UP.value)
WRAP_UP_MINUTES = 2.0
RECENT = timedelta(days=7)
MIN_SAMPLES = 20
PRESENCE_CARRIED = timedelta(days=7)  # without a roster, the agents present now are expected back
UNPLANNED_PRESENCE = timedelta(hours=1)  # present now but not planned: counted for an hour


def calendar(unit: RegionalUnit) -> BusinessCalendar:
    """When the unit's agents call: its opening hours, minus public holidays and closed days."""
    return BusinessCalendar(tz=ZoneInfo(current_app.config["TIMEZONE"]), hours=opening_hours(unit),
                            closed_days=closed_days(unit.id))


def call_stats(unit_id: int, now: datetime) -> CallStats:
    """Medians over the unit's recent calls; the defaults until there are enough of them."""
    rows = db.session.execute(
        select(CallAttempt.started_at, CallAttempt.ended_at).join(R, R.id == CallAttempt.request_id)
        .where(R.unit_id == unit_id, CallAttempt.started_at >= now - RECENT, CallAttempt.ended_at.is_not(None))
        .order_by(CallAttempt.started_at.desc()).limit(2000)).all()
    default = CallStats()
    if len(rows) < MIN_SAMPLES:
        return default
    minutes = [max(0.5, (ended - started).total_seconds() / 60) for started, ended in rows]
    calls, requests = db.session.execute(
        select(func.count(CallAttempt.id), func.count(CallAttempt.request_id.distinct()))
        .join(R, R.id == CallAttempt.request_id)
        .where(R.unit_id == unit_id, CallAttempt.started_at >= now - RECENT)).one()
    mean = statistics.fmean(minutes)
    return CallStats(call_minutes=statistics.median(minutes) + WRAP_UP_MINUTES,
                     attempts_per_request=max(1.0, calls / requests) if requests else default.attempts_per_request,
                     variation=min(2.0, statistics.pstdev(minutes) / mean) if mean else default.variation)


def presence(unit_id: int, now: datetime, stats: CallStats) -> tuple[list[Shift], dict[int, datetime]]:
    """Who will call: the roster's planned hours (``services.roster``), and the agents present now
    until the end of their planned period (an hour when none is planned); without any roster in the
    unit, the agents present now, expected back at the next openings. And when those in a call
    should be free."""
    agents = db.session.execute(select(StaffUser.id, StaffUser.capacity, StaffUser.availability).where(
        StaffUser.unit_id == unit_id, StaffUser.role.in_(TAKES_CALLS), StaffUser.is_active_account.is_(True))).all()
    planned = roster.presence(unit_id, now)
    shifts = []
    for agent_id, capacity, state in agents:
        present = state in PRESENT
        if planned is None:
            if present:
                shifts.append(Shift(agent_id, now, now + PRESENCE_CARRIED, capacity))
            continue
        mine = planned.get(agent_id, [])
        current = next((end for start, end in mine if start <= now < end), None)
        if present:
            shifts.append(Shift(agent_id, now, current or now + UNPLANNED_PRESENCE, capacity))
        shifts.extend(Shift(agent_id, start, end, capacity) for start, end in mine if start > now)
    busy: dict[int, datetime] = {}
    call = timedelta(minutes=stats.call_minutes)
    for agent_id, started in db.session.execute(
            select(R.assigned_agent_id, func.min(CallAttempt.started_at))
            .outerjoin(CallAttempt, (CallAttempt.request_id == R.id) & CallAttempt.ended_at.is_(None))
            .where(R.unit_id == unit_id, R.status == Status.IN_CALL.value).group_by(R.assigned_agent_id)):
        busy[agent_id] = max(now + timedelta(minutes=1), (started or now) + call)
    return shifts, busy


def _waiting(row) -> Waiting:
    not_before = row.next_attempt_at if row.status in (Status.RETRY_WAIT.value, Status.SCHEDULED.value) \
        else row.preferred_start
    return Waiting(row.id, row.sla_deadline, not_before)


COLUMNS = (R.id, R.status, R.sla_deadline, R.preferred_start, R.next_attempt_at, R.eta_from, R.eta_to,
           R.eta_reason, R.eta_told_from)


@dataclass(frozen=True)
class UnitContext:
    """What a unit's windows depend on besides its queue: the pace, who calls when, the calendar."""

    stats: CallStats
    shifts: list[Shift]
    busy: dict[int, datetime]
    calendar: BusinessCalendar


def unit_context(unit: RegionalUnit, now: datetime) -> UnitContext:
    stats = call_stats(unit.id, now)
    shifts, busy = presence(unit.id, now, stats)
    return UnitContext(stats, shifts, busy, calendar(unit))


# A submission's window reuses its unit's context for a few seconds (ETA_CONTEXT_SECONDS, per process):
# under a burst, one read of the pace, the roster and the calendar serves every request of those seconds.
_contexts = ProcessCache()


def _shared_context(unit_id: int, now: datetime) -> UnitContext:
    return _contexts.get(unit_id, current_app.config["ETA_CONTEXT_SECONDS"],
                         lambda: unit_context(db.session.get(RegionalUnit, unit_id), now))


def unit_windows(unit: RegionalUnit, now: datetime, rows) -> dict[int, Window]:
    context = unit_context(unit, now)
    return estimate([_waiting(row) for row in rows], context.shifts, now, context.stats, context.calendar,
                    context.busy)


AHEAD_COLUMNS = (R.id, R.status, R.sla_deadline, R.preferred_start, R.next_attempt_at)


def window_for_new(request: CallbackRequest, now: datetime) -> Window:
    """The window of a request being submitted, worked out before its row is written (the row is
    written once, with it): the unit's queue ahead of it takes its call slots, then it gets its
    window.

    Only the requests ahead that wait for a time (a retry, a preferred slot) are read; the others are
    counted: each takes the first free slot, whatever its own deadline. They go first here, where
    in the queue they may be interleaved with the timed ones: an approximation the periodic
    recompute (``recompute``) corrects within its period, that keeps a submission's cost flat when
    thousands wait."""
    ahead = (R.unit_id == request.unit_id, R.status.in_(ESTIMATED), CALLBACKS, ahead_of(request))
    timed = (R.status.in_((Status.RETRY_WAIT.value, Status.SCHEDULED.value))) | R.preferred_start.is_not(None)
    untimed = db.session.scalar(select(func.count()).where(*ahead, ~timed))
    waiting_for_a_time = db.session.execute(select(*AHEAD_COLUMNS).where(*ahead, timed).order_by(*queue_order()))
    context = _shared_context(request.unit_id, now)
    return estimate_last([*map(_waiting, waiting_for_a_time), _waiting(request)], context.shifts, now,
                         context.stats, context.calendar, context.busy, first=untimed)


def store_first(request: CallbackRequest, window: Window, now: datetime) -> None:
    """The window a new request is told (its confirmation says it; a delay is measured from it)."""
    request.eta_from, request.eta_to, request.eta_reason, request.eta_updated_at = (
        window.start, window.end, window.reason, now)
    request.eta_told_from = window.start if window.reason is None else None


def _write_windows(changes: list[dict]) -> None:
    """The moved windows, by id: one statement on PostgreSQL (one row per statement costs a round
    trip each: 1.3 s for 10,000 windows), executemany elsewhere."""
    update_many(R, changes)


def recompute(now: datetime) -> dict[str, int]:
    """Every unit's queue in one pass each; only the windows that moved are written."""
    from .messages import add_message  # messages reads settings and telephony; imported late

    counts = {"estimated": 0, "updated": 0, "delay_notices": 0}
    delay = timedelta(minutes=current_app.config["ETA_DELAY_NOTICE_MINUTES"])
    for unit in db.session.scalars(select(RegionalUnit)).all():
        rows = db.session.execute(select(*COLUMNS).where(R.unit_id == unit.id, R.status.in_(ESTIMATED), CALLBACKS)
                                  .order_by(*queue_order())).all()
        if not rows:
            continue
        windows = unit_windows(unit, now, rows)
        counts["estimated"] += len(windows)
        changes, late = [], []
        for row in rows:
            new = windows[row.id]
            old = Window(row.eta_from, row.eta_to, row.eta_from + (row.eta_to - row.eta_from) / 2, row.eta_reason) \
                if row.eta_from and row.eta_to else None
            if not moved(old, new):
                continue
            changes.append({"id": row.id, "eta_from": new.start, "eta_to": new.end, "eta_reason": new.reason,
                            "eta_updated_at": now})
            if new.reason is None and row.eta_told_from and new.start - row.eta_told_from > delay:
                late.append(row.id)
        with unit_of_work() as work:
            if changes:
                _write_windows(changes)
            for request_id in late:
                request = db.session.get(R, request_id, populate_existing=True)
                message_id = add_message(request, "delay", now)
                if message_id is not None:  # one delay notice per request
                    request.eta_told_from = request.eta_from
                    work.after_commit(enqueue_message, message_id)
                    counts["delay_notices"] += 1
        counts["updated"] += len(changes)
    log.info("eta: %(estimated)d estimated, %(updated)d updated, %(delay_notices)d delay notice(s)", counts)
    return counts


