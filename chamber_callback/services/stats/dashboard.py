"""The dashboard's figures: tiles, per-unit and per-topic tables, agents, lists and charts."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.orm import joinedload

from ...domain.lifecycle import Status
from ...domain.roles import TAKES_CALLS
from ...extensions import db, zone_named
from ...models import CallbackRequest, RegionalUnit, StaffUser, Topic
from ..queue import CALLBACKS, queue_order
from .definitions import (
    ACTIVE,
    CLOSED_COUNTED,
    HELD,
    TTFA_BUCKETS_H,
    WAITING,
    A,
    Percentiles,
    R,
    Scope,
    Share,
    active,
    at_risk_condition,
    breached_condition,
    judged,
    total,
)
from .sql import GRAINS, day_bounds, hour_keys, local_midnight, median, percentile_query, ranked, utc_hour


def time_to_first_attempt(scope: Scope, start: datetime, end: datetime) -> Percentiles:
    by_rank = ranked(R.time_to_first_attempt_s,
                     [R.first_attempt_at >= start, R.first_attempt_at < end, *scope.conditions()], [])
    row = db.session.execute(percentile_query(by_rank, 0)).one_or_none()
    return Percentiles(*row) if row and row[0] else Percentiles()


@dataclass
class Calibration:
    """How often the first call started inside the window announced (``services.eta``)."""

    last_day: Share = field(default_factory=Share)
    last_week: Share = field(default_factory=Share)
    median_width_s: int | None = None  # over the week

    def as_dict(self) -> dict:
        return {"last_24_hours": self.last_day.as_dict(), "last_7_days": self.last_week.as_dict(),
                "median_window_s": self.median_width_s}


def _announced(scope: Scope, now: datetime):
    """The first calls of the last 7 days that had a window announced (conditions), started inside
    it, and of the last 24 hours."""
    where = [R.first_attempt_at >= now - timedelta(days=7), R.first_attempt_at < now, R.announced_from.is_not(None),
             *scope.conditions()]
    inside = and_(R.first_attempt_at >= R.announced_from, R.first_attempt_at <= R.announced_to)
    return where, inside, R.first_attempt_at >= now - timedelta(days=1)


def calibration_by_unit(scope: Scope, now: datetime) -> dict[int, Calibration]:
    """Per unit: the first calls of the last 24 hours and 7 days that had a window announced, and
    how many started inside it; the window's median width over the week."""
    where, inside, last_day = _announced(scope, now)
    result: dict[int, Calibration] = defaultdict(Calibration)
    for unit_id, counted, kept, counted_day, kept_day in db.session.execute(select(
            R.unit_id, func.count(), func.count().filter(inside), func.count().filter(last_day),
            func.count().filter(inside, last_day)).where(*where).group_by(R.unit_id)):
        result[unit_id].last_week = Share(kept, counted)
        result[unit_id].last_day = Share(kept_day, counted_day)
    for unit_id, _count, width, _p90 in db.session.execute(
            percentile_query(ranked(R.announced_width_s, where, [R.unit_id]), 1)):
        result[unit_id].median_width_s = width
    return dict(result)


def calibration(scope: Scope, now: datetime) -> Calibration:
    """The same for the whole scope (the median width over every window of the week), in one
    pass: the counts of ``calibration_by_unit`` summed, and the median of the rows ranked."""
    where, inside, last_day = _announced(scope, now)
    rows = ranked(R.announced_width_s, where, [], extra=[case((inside, 1), else_=0).label("inside"),
                                                        case((last_day, 1), else_=0).label("day")])
    counted, width, kept, counted_day, kept_day = db.session.execute(select(
        func.count(), median(rows), func.count().filter(rows.c.inside == 1), func.count().filter(rows.c.day == 1),
        func.count().filter(rows.c.inside == 1, rows.c.day == 1))).one()
    return Calibration(last_day=Share(kept_day, counted_day), last_week=Share(kept, counted),
                       median_width_s=width if counted else None)


def abandonment(scope: Scope, start: datetime, end: datetime) -> tuple[Share, dict[str, int]]:
    counts = dict(db.session.execute(
        # closed_at is set on closed requests only: no status condition, which would lead SQLite
        # to read every closed request through the status index.
        select(R.status, func.count()).where(R.closed_at >= start, R.closed_at < end, *scope.conditions())
        .group_by(R.status)).all())
    gave_up = counts.get("cancelled", 0) + counts.get("unreachable", 0)
    return Share(gave_up, sum(counts.values())), counts


def calls_of(scope: Scope, *columns):
    """``SELECT columns FROM call_attempts`` for the calls of the requests in ``scope``.

    Without a unit, topic or urgency filter the only condition is on callback requests, and a
    campaign's contacts are few: their calls are left out by the contacts' ids instead of looking
    up every call's request (a week of calls, one index lookup each)."""
    if scope == Scope():
        return select(*columns).select_from(A).where(A.request_id.not_in(select(R.id).where(not_(CALLBACKS))))
    return select(*columns).select_from(A).join(R, R.id == A.request_id).where(*scope.conditions())


def calls_between(scope: Scope, start: datetime, end: datetime) -> int:
    return db.session.scalar(calls_of(scope, func.count()).where(A.started_at >= start, A.started_at < end))


PARTNER_PREFIX = "web:"  # requests made through a partner site's button: web:<partner>


def requests_by_channel(scope: Scope, start: datetime, end: datetime) -> tuple[dict[str, int], dict[str, int]]:
    """Requests received in [start, end) per channel (web, api, phone, partners), and per partner."""
    rows = db.session.execute(select(R.channel, func.count()).where(
        R.submitted_at >= start, R.submitted_at < end, *scope.conditions()).group_by(R.channel)).all()
    return _by_channel(rows)


def _by_channel(rows) -> tuple[dict[str, int], dict[str, int]]:
    channels = dict.fromkeys(("web", "api", "phone", "partners"), 0)
    partners: dict[str, int] = {}
    for channel, count in rows:
        if channel.startswith(PARTNER_PREFIX):
            channels["partners"] += count
            partners[channel.removeprefix(PARTNER_PREFIX)] = count
        else:
            channels[channel] = channels.get(channel, 0) + count
    return channels, dict(sorted(partners.items()))


# --- the dashboard --------------------------------------------------------------------------------

@dataclass
class Headline:
    now: datetime
    by_status: dict[str, int]
    oldest_waiting_since: datetime | None
    at_risk: int
    breached: int
    calls_today: int
    within_today: Share
    within_7_days: Share
    ttfa_7_days: Percentiles
    abandonment_7_days: Share
    calibration: Calibration
    closed_7_days: dict[str, int]
    by_unit: list[DepthRow]
    by_topic: list[DepthRow]
    within_today_by_unit: dict[int, Share]
    within_7_days_by_unit: dict[int, Share]

    @property
    def waiting(self) -> int:
        return sum(self.by_status.get(status, 0) for status in WAITING)

    @property
    def in_call(self) -> int:
        return self.by_status.get(Status.IN_CALL.value, 0)

    @property
    def oldest_waiting_s(self) -> int | None:
        if self.oldest_waiting_since is None:
            return None
        return max(0, int((self.now - self.oldest_waiting_since).total_seconds()))

    def as_dict(self) -> dict:
        return {
            "generated_at": self.now.isoformat(),
            "waiting": self.waiting,
            "in_call": self.in_call,
            "by_status": {status: self.by_status.get(status, 0) for status in ACTIVE},
            "oldest_waiting_s": self.oldest_waiting_s,
            "oldest_waiting_since": self.oldest_waiting_since.isoformat() if self.oldest_waiting_since else None,
            "at_risk": self.at_risk,
            "breached": self.breached,
            "calls_today": self.calls_today,
            "within_sla": {"today": self.within_today.as_dict(), "last_7_days": self.within_7_days.as_dict()},
            "time_to_first_attempt_last_7_days": self.ttfa_7_days.as_dict(),
            "first_calls_in_announced_window": self.calibration.as_dict(),
            "abandonment_last_7_days": {**self.abandonment_7_days.as_dict(),
                                        "closed": {s: self.closed_7_days.get(s, 0) for s in CLOSED_COUNTED}},
        }


@dataclass
class DepthRow:
    key: int
    label: str
    by_status: dict[str, int] = field(default_factory=dict)
    at_risk: int = 0
    breached: int = 0

    @property
    def waiting(self) -> int:
        return sum(self.by_status.get(status, 0) for status in WAITING)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass
class ActiveBreakdown:
    by_unit: list[DepthRow]
    by_topic: list[DepthRow]
    oldest_never_called: datetime | None


def active_breakdown(scope: Scope, now: datetime) -> ActiveBreakdown:
    """Active requests per unit and per topic and status, with at-risk and breached counts, and
    the oldest never called: one pass over the active requests."""
    rows = db.session.execute(select(
        R.unit_id, R.topic_id, R.status, func.count(), func.count().filter(at_risk_condition(now)),
        func.count().filter(breached_condition(now)), func.min(case((R.first_attempt_at.is_(None), R.submitted_at))),
    ).where(active(), *scope.conditions()).group_by(R.unit_id, R.topic_id, R.status)).all()
    units = dict(db.session.execute(select(RegionalUnit.id, RegionalUnit.name)).all())
    topics = dict(db.session.execute(select(Topic.id, Topic.label)).all())
    by_unit = {key: DepthRow(key, label) for key, label in units.items() if scope.unit_id in (None, key)}
    by_topic: dict[int, DepthRow] = {}
    oldest = None
    for unit_id, topic_id, status, count, at_risk, breached, first_waiting in rows:
        for depth, key, labels in ((by_unit, unit_id, units), (by_topic, topic_id, topics)):
            row = depth.setdefault(key, DepthRow(key, labels.get(key, str(key))))
            row.by_status[status] = row.by_status.get(status, 0) + count
            row.at_risk += at_risk
            row.breached += breached
        if first_waiting is not None and (oldest is None or first_waiting < oldest):
            oldest = first_waiting

    def order(depth: dict[int, DepthRow]) -> list[DepthRow]:
        return sorted(depth.values(), key=lambda row: (-row.breached, -row.at_risk, -row.total, row.label))
    return ActiveBreakdown(order(by_unit), order(by_topic), oldest)


def headline(scope: Scope, now: datetime, tz: str,
             week_by_day: dict[int, dict[str, Share]] | None = None, calls_today: int | None = None) -> Headline:
    """The dashboard's tiles and its per-unit and per-topic tables.

    ``week_by_day``: ``within_sla_by_day`` over the last 7 local days, when the caller has it
    (the dashboard's chart by default), so it is not counted twice; ``calls_today``: the calls
    since local midnight, when the caller counted them (``hourly_activity(calls_since=…)``).
    """
    today = local_midnight(now, tz)
    week = local_midnight(now, tz, days_back=6)
    active = active_breakdown(scope, now)
    by_status: dict[str, int] = defaultdict(int)
    for row in active.by_unit:
        for status, count in row.by_status.items():
            by_status[status] += count
    if week_by_day is None:
        within_today, within_week = within_sla_by_unit(scope, week, now, split_at=today)
    else:
        today_key = now.astimezone(zone_named(tz)).date().isoformat()
        within_today = {unit: days[today_key] for unit, days in week_by_day.items() if today_key in days}
        within_week = {unit: total(days.values()) for unit, days in week_by_day.items()}
    gave_up, closed = abandonment(scope, week, now)
    return Headline(
        now=now, by_status=dict(by_status), oldest_waiting_since=active.oldest_never_called,
        at_risk=sum(row.at_risk for row in active.by_unit), breached=sum(row.breached for row in active.by_unit),
        calls_today=calls_between(scope, today, now) if calls_today is None else calls_today,
        within_today=total(within_today.values()), within_7_days=total(within_week.values()),
        ttfa_7_days=time_to_first_attempt(scope, week, now), abandonment_7_days=gave_up, closed_7_days=closed,
        calibration=calibration(scope, now),
        by_unit=active.by_unit, by_topic=active.by_topic, within_today_by_unit=within_today,
        within_7_days_by_unit=within_week,
    )


def within_sla_by_unit(scope: Scope, start: datetime, now: datetime,
                       split_at: datetime) -> tuple[dict[int, Share], dict[int, Share]]:
    """Per unit, the requests judged since ``split_at`` and since ``start`` (today and the week)."""
    shares = judged(lambda moment: [R.unit_id, case((moment >= split_at, 1), else_=0)], scope, start, now, now)
    recent: dict[int, Share] = {}
    whole: dict[int, Share] = defaultdict(Share)
    for (unit_id, since), share in shares.items():
        whole[unit_id] = total([whole[unit_id], share])
        if since:
            recent[unit_id] = share
    return recent, dict(whole)


def within_sla_by_agent(scope: Scope, start: datetime, now: datetime) -> dict[int, Share]:
    """Per agent: of the requests it called first in the period, how many in time."""
    first = and_(A.request_id == R.id, A.started_at == R.first_attempt_at)
    rows = db.session.execute(
        select(A.agent_id, func.count().filter(R.sla_met.is_(True)), func.count().filter(R.sla_met.is_not(None)))
        .select_from(A.__table__.join(R.__table__, first))
        # The window again on started_at (equal to first_attempt_at by the join): the planner
        # then joins two index ranges instead of scanning every attempt.
        .where(R.first_attempt_at >= start, R.first_attempt_at < now, A.started_at >= start, A.started_at < now,
               *scope.conditions()).group_by(A.agent_id))
    return {agent_id: Share(met, judged) for agent_id, met, judged in rows}


@dataclass
class AgentRow:
    agent: StaffUser
    calls_today: int
    holding: list[CallbackRequest]
    within_7_days: Share = field(default_factory=Share)


def agents_board(scope: Scope, now: datetime, tz: str, within: dict[int, Share] | None = None) -> list[AgentRow]:
    """Call takers with their state, what they hold, their calls today and, over 7 days, their
    first calls within the SLA (``within``: ``within_sla_by_agent`` when the caller has it)."""
    query = select(StaffUser).options(joinedload(StaffUser.unit)).where(
        StaffUser.role.in_(TAKES_CALLS), StaffUser.is_active_account.is_(True))
    if scope.unit_id is not None:
        query = query.where(StaffUser.unit_id == scope.unit_id)
    agents = db.session.scalars(query.order_by(StaffUser.unit_id, StaffUser.name)).all()
    calls = dict(db.session.execute(select(A.agent_id, func.count()).where(
        A.started_at >= local_midnight(now, tz), A.started_at <= now).group_by(A.agent_id)).all())
    holding: dict[int, list[CallbackRequest]] = defaultdict(list)
    for held in db.session.scalars(select(R).where(R.status.in_(HELD), R.assigned_agent_id.is_not(None))
                                   .order_by(R.sla_deadline)):
        holding[held.assigned_agent_id].append(held)
    if within is None:
        within = within_sla_by_agent(Scope(), local_midnight(now, tz, days_back=6), now)
    return [AgentRow(agent, calls.get(agent.id, 0), holding.get(agent.id, []), within.get(agent.id, Share()))
            for agent in agents]


def attention_lists(scope: Scope, now: datetime,
                    limit: int = 30) -> tuple[list[CallbackRequest], list[CallbackRequest]]:
    """(at risk, breached), each in the queue order: first served first."""
    options = (joinedload(R.unit), joinedload(R.topic), joinedload(R.assigned_agent))
    at_risk = db.session.scalars(select(R).options(*options).where(at_risk_condition(now), *scope.conditions())
                                 .order_by(*queue_order()).limit(limit)).all()
    breached = db.session.scalars(select(R).options(*options).where(breached_condition(now), *scope.conditions())
                                  .order_by(*queue_order()).limit(limit)).all()
    return list(at_risk), list(breached)


# --- charts ---------------------------------------------------------------------------------------

@dataclass
class Series:
    keys: list[str]
    values: dict[str, list[int]]
    calls_since: int | None = None  # hourly_activity(calls_since=…)
    channels: tuple[dict[str, int], dict[str, int]] | None = None  # hourly_activity(channels_between=…)


def _overlap(first: tuple[datetime, datetime], second: tuple[datetime, datetime]) -> bool:
    return first[0] <= second[1] and second[0] <= first[1]


def hourly_activity(scope: Scope, start: datetime, now: datetime, tz: str, calls_since: datetime | None = None,
                    channels_between: tuple[datetime, datetime] | None = None) -> Series:
    """Requests received and calls made per local hour.

    ``calls_since``: also count the calls made since then (the calls today of the headline), in
    the same pass over the calls; ``channels_between``: also count the requests received in that
    period per channel (``requests_by_channel``), in the same pass over the requests when the two
    periods overlap. Each extra figure is counted with its own condition, not derived from the
    hours: exactly what the separate query gives.
    """
    zone = zone_named(tz)

    def per_local_hour(rows) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for utc_key, count in rows:
            moment = datetime.strptime(utc_key, "%Y-%m-%d %H").replace(tzinfo=UTC)
            counts[moment.astimezone(zone).strftime(GRAINS["hour"][1])] += count
        return counts

    received_hour = utc_hour(R.submitted_at)
    channels = None
    if channels_between is not None and _overlap((start, now), channels_between):
        lower, upper = min(start, channels_between[0]), max(now, channels_between[1])
        charted = case((and_(R.submitted_at >= start, R.submitted_at < now), 1), else_=0)
        listed = case((and_(R.submitted_at >= channels_between[0], R.submitted_at < channels_between[1]), 1),
                      else_=0)
        rows = db.session.execute(select(received_hour, R.channel, charted, listed, func.count()).where(
            R.submitted_at >= lower, R.submitted_at < upper, *scope.conditions())
            .group_by(received_hour, R.channel, charted, listed)).all()
        received = per_local_hour((hour, count) for hour, _channel, in_chart, _listed, count in rows if in_chart)
        by_channel: dict[str, int] = defaultdict(int)
        for _hour, channel, _in_chart, in_list, count in rows:
            if in_list:
                by_channel[channel] += count
        channels = _by_channel(sorted(by_channel.items()))
    else:
        received = per_local_hour(db.session.execute(select(received_hour, func.count()).where(
            R.submitted_at >= start, R.submitted_at < now, *scope.conditions()).group_by(received_hour)))
        if channels_between is not None:
            channels = requests_by_channel(scope, *channels_between)
    calls_hour = utc_hour(A.started_at)
    calls_since_count = None
    if calls_since is not None and start <= calls_since:
        recent = case((A.started_at >= calls_since, 1), else_=0)
        rows = db.session.execute(calls_of(scope, calls_hour, recent, func.count())
                                  .where(A.started_at >= start, A.started_at < now)
                                  .group_by(calls_hour, recent)).all()
        calls = per_local_hour((hour, count) for hour, _recent, count in rows)
        calls_since_count = sum(count for _hour, since, count in rows if since)
    else:
        calls = per_local_hour(db.session.execute(calls_of(scope, calls_hour, func.count())
                                                  .where(A.started_at >= start, A.started_at < now)
                                                  .group_by(calls_hour)))
        if calls_since is not None:
            calls_since_count = calls_between(scope, calls_since, now)
    keys = hour_keys(start.replace(minute=0, second=0, microsecond=0), now, tz)
    return Series(keys, {"received": [received.get(k, 0) for k in keys], "calls": [calls.get(k, 0) for k in keys]},
                  calls_since=calls_since_count, channels=channels)


def ttfa_histogram(scope: Scope, start: datetime, end: datetime) -> list[tuple[float | None, int]]:
    """(upper bound in hours or None for the last bucket, count) of first attempts in the period."""
    bounds = [int(hours * 3600) for hours in TTFA_BUCKETS_H]
    bucket = case(*((R.time_to_first_attempt_s < bound, index) for index, bound in enumerate(bounds)),
                  else_=len(bounds))
    counts = dict(db.session.execute(select(bucket, func.count()).where(
        R.first_attempt_at >= start, R.first_attempt_at < end, *scope.conditions()).group_by(bucket)).all())
    return [(TTFA_BUCKETS_H[i] if i < len(bounds) else None, counts.get(i, 0)) for i in range(len(bounds) + 1)]


def within_sla_by_day(scope: Scope, first: date, last: date, now: datetime,
                      tz: str) -> tuple[list[str], dict[int, dict[str, Share]]]:
    """Per unit and local day: the share of requests called within the SLA (counted per UTC hour
    by the database, the hours then gathered into local days)."""
    start, end = day_bounds(first, last, tz)
    zone = zone_named(tz)
    result: dict[int, dict[str, Share]] = defaultdict(lambda: defaultdict(Share))
    for (unit_id, hour), share in judged(lambda moment: [R.unit_id, utc_hour(moment)], scope, start, min(end, now),
                                         now).items():
        day = datetime.strptime(hour, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone).strftime("%Y-%m-%d")
        result[unit_id][day] = total([result[unit_id][day], share])
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return days, result
