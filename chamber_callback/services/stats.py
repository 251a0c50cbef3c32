"""Figures for the manager dashboard, the reports, the CSV exports and ``GET /api/v1/stats``.

Every figure is a grouped SQL query, either over an indexed time window or over the active
requests; nothing here loads request rows into Python to count them.

Definitions (the dashboard repeats them to its readers):
- waiting: active requests not in a call (queued, offered, retry_wait, scheduled);
- oldest waiting: the oldest active request that was never called;
- at risk: active, not yet called in time, a warning level (≥ 75 % of the SLA) has fired and
  the deadline has not passed;
- breached: active, not yet called, deadline passed;
- within SLA over a period: each request is judged once, met at its first attempt (or first
  reach, ``SLA_MET_ON``) when that falls in the period before the deadline, missed at its
  deadline when that falls in the period with no call in time (still waiting, called late, or
  cancelled after the deadline);
- time to first attempt: median and 90th percentile (nearest rank) of the requests first
  called in the period;
- abandonment: cancelled + unreachable among the requests closed in the period.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, bindparam, case, exists, func, literal_column, or_, select
from sqlalchemy.orm import joinedload

from ..domain.attempts import Outcome
from ..domain.escalation import at_risk_codes
from ..domain.lifecycle import ACTIVE_STATUSES, Status
from ..domain.roles import TAKES_CALLS
from ..extensions import db, zone_named
from ..models import (
    CallAttempt,
    CallbackRequest,
    Escalation,
    RegionalUnit,
    StaffUser,
    Topic,
)
from .queue import queue_order
from .sla import levels

ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
WAITING = sorted(s.value for s in ACTIVE_STATUSES if s != Status.IN_CALL)
HELD = (Status.OFFERED.value, Status.IN_CALL.value)
CLOSED_COUNTED = (Status.COMPLETED.value, Status.UNREACHABLE.value, Status.CANCELLED.value)
# Time-to-first-attempt histogram: upper bounds in hours (the last bucket is open).
TTFA_BUCKETS_H = (0.25, 1, 2, 4, 8, 12, 24, 48)

R = CallbackRequest
A = CallAttempt


# --- local time buckets in SQL -------------------------------------------------------------------

GRAINS = {  # grain: (PostgreSQL to_char format, Python strftime format)
    "hour": ("YYYY-MM-DD HH24", "%Y-%m-%d %H"),
    "day": ("YYYY-MM-DD", "%Y-%m-%d"),
    "week": ('IYYY-"S"IW', "%G-S%V"),
}
_TZ_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")
WHOLE_PERIOD = literal_column("'total'")  # the bucket of a whole-period report


def _grouping(*columns) -> list:
    """GROUP BY / PARTITION BY columns: PostgreSQL refuses a constant there, and it changes nothing."""
    return [column for column in columns if column is not WHOLE_PERIOD]


def local_bucket(column, grain: str, tz: str):
    """The local hour, day or ISO week of a timestamp column, as text, computed by the database.

    Rendered without bound parameters so that GROUP BY repeats the very same expression.
    """
    if not _TZ_NAME.match(tz):
        raise ValueError(f"bad time zone name {tz!r}")
    if grain == "total":
        return WHOLE_PERIOD
    pg_format, py_format = GRAINS[grain]
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column(f"'{tz}'"), column), literal_column(f"'{pg_format}'"))
    return func.cc_local(column, literal_column(f"'{tz}'"), literal_column(f"'{py_format}'"))


# --- scope ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Which requests a figure is about: a unit, a topic, urgent ones only."""

    unit_id: int | None = None
    topic_id: int | None = None
    urgent_only: bool = False

    def conditions(self) -> list:
        conditions = []
        if self.unit_id is not None:
            conditions.append(R.unit_id == self.unit_id)
        if self.topic_id is not None:
            conditions.append(R.topic_id == self.topic_id)
        if self.urgent_only:
            conditions.append(R.urgent.is_(True))
        return conditions

    @property
    def narrowed(self) -> bool:
        return bool(self.conditions())


def local_midnight(now: datetime, tz: str, days_back: int = 0) -> datetime:
    """Midnight (local) ``days_back`` days before today, in UTC."""
    zone = zone_named(tz)
    day = now.astimezone(zone).date() - timedelta(days=days_back)
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[first day 00:00, day after last 00:00) local, in UTC."""
    zone = zone_named(tz)
    return (datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC),
            datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC))


# --- building blocks ------------------------------------------------------------------------------

def _missed_condition(now: datetime):
    """The request's deadline passed with no call in time (called late, still waiting, or
    closed without a call after its deadline)."""
    return or_(R.sla_met.is_(False), and_(R.sla_met.is_(None), R.sla_deadline <= func.coalesce(R.closed_at, now)))


def _active():
    """``status IN ('in_call', …)`` with the values written into the SQL: it then matches the
    partial index on active requests (migration 0009), on PostgreSQL even with prepared
    statements, and on SQLite, which only uses a partial index when the query repeats its terms."""
    return R.status.in_(bindparam("active_statuses", ACTIVE, expanding=True, literal_execute=True))


def _at_risk_condition(now: datetime):
    codes = at_risk_codes(levels())
    fired = exists().where(Escalation.request_id == R.id, Escalation.level.in_(codes)) if codes else False
    return and_(_active(), R.sla_met.is_(None), R.sla_deadline > now, fired)


def _breached_condition(now: datetime):
    return and_(_active(), R.sla_met.is_(None), R.sla_deadline <= now)


@dataclass
class Share:
    """``part`` out of ``whole``, with the rate when there is anything to count."""

    part: int = 0
    whole: int = 0

    @property
    def rate(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def as_dict(self) -> dict:
        return {"count": self.part, "of": self.whole,
                "rate": round(self.rate, 4) if self.rate is not None else None}


@dataclass
class Percentiles:
    count: int = 0
    median_s: int | None = None
    p90_s: int | None = None

    def as_dict(self) -> dict:
        return {"count": self.count, "median_s": self.median_s, "p90_s": self.p90_s}


def _ranked(value, where: Iterable, keys: list, source=R):
    """Rows ranked by ``value`` within each group of ``keys``: for nearest-rank percentiles."""
    partition = {"partition_by": _grouping(*keys)} if _grouping(*keys) else {}
    columns = [key.label(f"k{i}") for i, key in enumerate(keys)]
    return select(*columns, value.label("v"),
                  func.row_number().over(order_by=value, **partition).label("rn"),
                  func.count().over(**partition).label("n")).select_from(source).where(*where).subquery()


def _percentile_query(ranked, key_count: int):
    keys = [ranked.c[f"k{i}"] for i in range(key_count)]
    return select(*keys, func.max(ranked.c.n),
                  func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.v))),
                  func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.v)))
                  ).group_by(*keys)


def time_to_first_attempt(scope: Scope, start: datetime, end: datetime) -> Percentiles:
    ranked = _ranked(R.time_to_first_attempt_s,
                     [R.first_attempt_at >= start, R.first_attempt_at < end, *scope.conditions()], [])
    row = db.session.execute(_percentile_query(ranked, 0)).one_or_none()
    return Percentiles(*row) if row and row[0] else Percentiles()


def abandonment(scope: Scope, start: datetime, end: datetime) -> tuple[Share, dict[str, int]]:
    counts = dict(db.session.execute(
        # closed_at is set on closed requests only: no status condition, which would lead SQLite
        # to read every closed request through the status index.
        select(R.status, func.count()).where(R.closed_at >= start, R.closed_at < end, *scope.conditions())
        .group_by(R.status)).all())
    gave_up = counts.get("cancelled", 0) + counts.get("unreachable", 0)
    return Share(gave_up, sum(counts.values())), counts


def calls_between(scope: Scope, start: datetime, end: datetime) -> int:
    query = select(func.count()).select_from(A).where(A.started_at >= start, A.started_at < end)
    if scope.narrowed:
        query = query.join(R, R.id == A.request_id).where(*scope.conditions())
    return db.session.scalar(query)


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
        R.unit_id, R.topic_id, R.status, func.count(), func.count().filter(_at_risk_condition(now)),
        func.count().filter(_breached_condition(now)), func.min(case((R.first_attempt_at.is_(None), R.submitted_at))),
    ).where(_active(), *scope.conditions()).group_by(R.unit_id, R.topic_id, R.status)).all()
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


def _total(shares: Iterable[Share]) -> Share:
    total = Share()
    for share in shares:
        total.part += share.part
        total.whole += share.whole
    return total


def headline(scope: Scope, now: datetime, tz: str,
             week_by_day: dict[int, dict[str, Share]] | None = None) -> Headline:
    """The dashboard's tiles and its per-unit and per-topic tables.

    ``week_by_day``: ``within_sla_by_day`` over the last 7 local days, when the caller has it
    (the dashboard's chart by default), so it is not counted twice.
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
        within_week = {unit: _total(days.values()) for unit, days in week_by_day.items()}
    gave_up, closed = abandonment(scope, week, now)
    return Headline(
        now=now, by_status=dict(by_status), oldest_waiting_since=active.oldest_never_called,
        at_risk=sum(row.at_risk for row in active.by_unit), breached=sum(row.breached for row in active.by_unit),
        calls_today=calls_between(scope, today, now),
        within_today=_total(within_today.values()), within_7_days=_total(within_week.values()),
        ttfa_7_days=time_to_first_attempt(scope, week, now), abandonment_7_days=gave_up, closed_7_days=closed,
        by_unit=active.by_unit, by_topic=active.by_topic, within_today_by_unit=within_today,
        within_7_days_by_unit=within_week,
    )


def within_sla_by_unit(scope: Scope, start: datetime, now: datetime,
                       split_at: datetime) -> tuple[dict[int, Share], dict[int, Share]]:
    """Per unit, the requests judged since ``split_at`` and since ``start`` (today and the
    week, in one query for the met and one for the missed)."""
    recent: dict[int, Share] = defaultdict(Share)
    whole: dict[int, Share] = defaultdict(Share)
    for unit_id, count, since in db.session.execute(select(
            R.unit_id, func.count(), func.count().filter(R.sla_met_at >= split_at)).where(
            R.sla_met.is_(True), R.sla_met_at >= start, R.sla_met_at < now, *scope.conditions()).group_by(R.unit_id)):
        whole[unit_id].part += count
        whole[unit_id].whole += count
        recent[unit_id].part += since
        recent[unit_id].whole += since
    for unit_id, count, since in db.session.execute(select(
            R.unit_id, func.count(), func.count().filter(R.sla_deadline >= split_at)).where(
            R.sla_deadline >= start, R.sla_deadline < now, _missed_condition(now), *scope.conditions()
    ).group_by(R.unit_id)):
        whole[unit_id].whole += count
        recent[unit_id].whole += since
    return dict(recent), dict(whole)


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
    at_risk = db.session.scalars(select(R).options(*options).where(_at_risk_condition(now), *scope.conditions())
                                 .order_by(*queue_order()).limit(limit)).all()
    breached = db.session.scalars(select(R).options(*options).where(_breached_condition(now), *scope.conditions())
                                  .order_by(*queue_order()).limit(limit)).all()
    return list(at_risk), list(breached)


# --- charts ---------------------------------------------------------------------------------------

@dataclass
class Series:
    keys: list[str]
    values: dict[str, list[int]]


def _hour_keys(start: datetime, end: datetime, tz: str) -> list[str]:
    zone, keys, moment = zone_named(tz), [], start
    while moment < end:
        key = moment.astimezone(zone).strftime(GRAINS["hour"][1])
        if not keys or keys[-1] != key:
            keys.append(key)
        moment += timedelta(hours=1)
    return keys


def _utc_hour(column):
    """The UTC hour of a timestamp as 'YYYY-MM-DD HH', in SQL native to each database (cheaper
    than the local-time function on SQLite); hours map one to one to local hours."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM-DD HH24'"))
    return func.strftime(literal_column("'%Y-%m-%d %H'"), column)


def hourly_activity(scope: Scope, start: datetime, now: datetime, tz: str) -> Series:
    """Requests received and calls made per local hour."""
    zone = zone_named(tz)

    def per_local_hour(rows) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for utc_key, count in rows:
            moment = datetime.strptime(utc_key, "%Y-%m-%d %H").replace(tzinfo=UTC)
            counts[moment.astimezone(zone).strftime(GRAINS["hour"][1])] += count
        return counts

    received_hour = _utc_hour(R.submitted_at)
    received = per_local_hour(db.session.execute(select(received_hour, func.count()).where(
        R.submitted_at >= start, R.submitted_at < now, *scope.conditions()).group_by(received_hour)))
    calls_hour = _utc_hour(A.started_at)
    calls_query = select(calls_hour, func.count()).where(A.started_at >= start, A.started_at < now)
    if scope.narrowed:
        calls_query = calls_query.join(R, R.id == A.request_id).where(*scope.conditions())
    calls = per_local_hour(db.session.execute(calls_query.group_by(calls_hour)))
    keys = _hour_keys(start.replace(minute=0, second=0, microsecond=0), now, tz)
    return Series(keys, {"received": [received.get(k, 0) for k in keys], "calls": [calls.get(k, 0) for k in keys]})


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
    end = min(end, now)
    zone = zone_named(tz)
    met_hour, missed_hour = _utc_hour(R.sla_met_at), _utc_hour(R.sla_deadline)
    result: dict[int, dict[str, Share]] = defaultdict(lambda: defaultdict(Share))

    def local_day(utc_key: str) -> str:
        return datetime.strptime(utc_key, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone).strftime(
            "%Y-%m-%d")

    for unit_id, hour, count in db.session.execute(select(R.unit_id, met_hour, func.count()).where(
            R.sla_met.is_(True), R.sla_met_at >= start, R.sla_met_at < end, *scope.conditions())
            .group_by(R.unit_id, met_hour)):
        share = result[unit_id][local_day(hour)]
        share.part += count
        share.whole += count
    for unit_id, hour, count in db.session.execute(select(R.unit_id, missed_hour, func.count()).where(
            R.sla_deadline >= start, R.sla_deadline < end, _missed_condition(now), *scope.conditions())
            .group_by(R.unit_id, missed_hour)):
        result[unit_id][local_day(hour)].whole += count
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    return days, result


# --- reports --------------------------------------------------------------------------------------

@dataclass
class ReportRow:
    key: int
    label: str
    bucket: str
    received: int = 0
    handled: int = 0
    calls: int = 0
    met: int = 0
    missed: int = 0
    ttfa: Percentiles = field(default_factory=Percentiles)
    outcomes: dict[str, int] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)

    @property
    def within(self) -> Share:
        return Share(self.met, self.met + self.missed)

    @property
    def attempts_per_request(self) -> float | None:
        return self.calls / self.handled if self.handled else None

    @property
    def abandonment(self) -> Share:
        gave_up = self.closed.get("cancelled", 0) + self.closed.get("unreachable", 0)
        return Share(gave_up, sum(self.closed.values()))


def report(dimension: str, grain: str, scope: Scope, start: datetime, end: datetime, now: datetime,
           tz: str) -> list[ReportRow]:
    """Per unit or per agent, per local day / ISO week / the whole period.

    Units: requests received, handled (called at least once), calls, within SLA, time to first
    attempt, outcomes, closures. Agents: the requests and calls they made, and, for the requests
    they called first, within SLA and time to first attempt.
    """
    end = min(end, now)
    rows: dict[tuple[int, str], ReportRow] = {}
    if dimension == "unit":
        labels = dict(db.session.execute(select(RegionalUnit.id, RegionalUnit.name)).all())
    else:
        labels = dict(db.session.execute(select(StaffUser.id, StaffUser.name)).all())

    def row(key, bucket) -> ReportRow:
        if (key, bucket) not in rows:
            rows[key, bucket] = ReportRow(key, labels.get(key, str(key)), bucket)
        return rows[key, bucket]

    where = scope.conditions()
    group = R.unit_id if dimension == "unit" else A.agent_id
    # Calls, requests handled and outcomes, by the time of the call.
    call_bucket = local_bucket(A.started_at, grain, tz)
    calls = (select(group, call_bucket, A.outcome, func.count(), func.count(A.request_id.distinct()))
             .select_from(A).join(R, R.id == A.request_id)
             .where(A.started_at >= start, A.started_at < end, *where)
             .group_by(*_grouping(group, call_bucket, A.outcome)))
    handled = (select(group, call_bucket, func.count(A.request_id.distinct())).select_from(A)
               .join(R, R.id == A.request_id).where(A.started_at >= start, A.started_at < end, *where)
               .group_by(*_grouping(group, call_bucket)))
    for key, bucket, outcome, count, _distinct in db.session.execute(calls):
        target = row(key, bucket)
        target.calls += count
        target.outcomes[outcome or "in_progress"] = target.outcomes.get(outcome or "in_progress", 0) + count
    for key, bucket, count in db.session.execute(handled):
        row(key, bucket).handled = count

    if dimension == "unit":
        received_bucket = local_bucket(R.submitted_at, grain, tz)
        for key, bucket, count in db.session.execute(select(R.unit_id, received_bucket, func.count()).where(
                R.submitted_at >= start, R.submitted_at < end, *where)
                .group_by(*_grouping(R.unit_id, received_bucket))):
            row(key, bucket).received = count
        met_bucket, missed_bucket = local_bucket(R.sla_met_at, grain, tz), local_bucket(R.sla_deadline, grain, tz)
        for key, bucket, count in db.session.execute(select(R.unit_id, met_bucket, func.count()).where(
                R.sla_met.is_(True), R.sla_met_at >= start, R.sla_met_at < end, *where)
                .group_by(*_grouping(R.unit_id, met_bucket))):
            row(key, bucket).met = count
        for key, bucket, count in db.session.execute(select(R.unit_id, missed_bucket, func.count()).where(
                R.sla_deadline >= start, R.sla_deadline < end, _missed_condition(now), *where)
                .group_by(*_grouping(R.unit_id, missed_bucket))):
            row(key, bucket).missed = count
        closed_bucket = local_bucket(R.closed_at, grain, tz)
        for key, bucket, status, count in db.session.execute(select(R.unit_id, closed_bucket, R.status, func.count())
                                                             .where(R.closed_at >= start, R.closed_at < end, *where)
                                                             .group_by(*_grouping(R.unit_id, closed_bucket, R.status))):
            row(key, bucket).closed[status] = count
        first_bucket = local_bucket(R.first_attempt_at, grain, tz)
        ranked = _ranked(R.time_to_first_attempt_s,
                         [R.first_attempt_at >= start, R.first_attempt_at < end, *where], [R.unit_id, first_bucket])
    else:
        # The agent who made a request's first attempt answers for its time to first attempt.
        first = and_(A.request_id == R.id, A.started_at == R.first_attempt_at)
        first_bucket = local_bucket(R.first_attempt_at, grain, tz)
        source = A.__table__.join(R.__table__, first)
        for key, bucket, met, missed in db.session.execute(
                select(A.agent_id, first_bucket, func.count().filter(R.sla_met.is_(True)),
                       func.count().filter(R.sla_met.is_(False))).select_from(source)
                .where(R.first_attempt_at >= start, R.first_attempt_at < end, A.started_at >= start,
                       A.started_at < end, *where)
                .group_by(*_grouping(A.agent_id, first_bucket))):
            target = row(key, bucket)
            target.met, target.missed = met, missed
        ranked = _ranked(R.time_to_first_attempt_s, [R.first_attempt_at >= start, R.first_attempt_at < end,
                                                     A.started_at >= start, A.started_at < end, *where],
                         [A.agent_id, first_bucket], source=source)
    for key, bucket, count, median, p90 in db.session.execute(_percentile_query(ranked, 2)):
        row(key, bucket).ttfa = Percentiles(count, median, p90)
    return sorted(rows.values(), key=lambda r: (r.label, r.bucket))


OUTCOMES = [outcome.value for outcome in Outcome]
