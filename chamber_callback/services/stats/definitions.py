"""The definitions every figure uses: which requests, waiting, at risk, breached, met and missed.

Every figure is a grouped SQL query, either over an indexed time window or over the active
requests; nothing here loads request rows into Python to count them.

Definitions (the dashboard repeats them to its readers):
- waiting: active requests not in a call (queued, offered, retry_wait, scheduled);
- oldest waiting: the oldest active request that was never called;
- at risk: active, not yet called, a level from the at-risk threshold has fired (the first level
  that tells someone to act: by default the senior's, at 75 % of the SLA; ``domain.escalation``)
  and the deadline has not passed;
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

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, literal_column, or_, select

from ...domain.escalation import at_risk_codes
from ...domain.lifecycle import ACTIVE_STATUSES, Status
from ...extensions import db
from ...models import CallAttempt, CallbackRequest, Escalation
from ..queue import CALLBACKS
from ..sla import levels

ACTIVE = sorted(s.value for s in ACTIVE_STATUSES)
WAITING = sorted(s.value for s in ACTIVE_STATUSES if s != Status.IN_CALL)
HELD = (Status.OFFERED.value, Status.IN_CALL.value)
CLOSED_COUNTED = (Status.COMPLETED.value, Status.UNREACHABLE.value, Status.CANCELLED.value)
# Time-to-first-attempt histogram: upper bounds in hours (the last bucket is open).
TTFA_BUCKETS_H = (0.25, 1, 2, 4, 8, 12, 24, 48)

R = CallbackRequest
A = CallAttempt
WHOLE_PERIOD = literal_column("'total'")  # the bucket of a whole-period report


def grouping(*columns) -> list:
    """GROUP BY / PARTITION BY columns: PostgreSQL refuses a constant there, and it changes nothing."""
    return [column for column in columns if column is not WHOLE_PERIOD]


# --- scope ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Which requests a figure is about: a unit, a topic, urgent ones only."""

    unit_id: int | None = None
    topic_id: int | None = None
    urgent_only: bool = False

    def conditions(self) -> list:
        """The conditions on requests; callback requests only, always (a campaign's contacts have
        their own progress, ``services.campaigns``)."""
        conditions = [callbacks()]
        if self.unit_id is not None:
            conditions.append(R.unit_id == self.unit_id)
        if self.topic_id is not None:
            conditions.append(R.topic_id == self.topic_id)
        if self.urgent_only:
            conditions.append(R.urgent.is_(True))
        return conditions




def callbacks():
    """``CALLBACKS`` (``campaign_id IS NULL``), written on SQLite so that its planner does not read
    it through the campaigns' index (``campaign_id`` first): with no statistics it takes ``IS NULL``
    for a selective equality and walks every callback request there, a second per figure at a
    million requests, instead of the time window's index. ``campaign_id + 0`` is null exactly when
    ``campaign_id`` is, and no index applies to it."""
    if db.session.get_bind().dialect.name == "sqlite":
        return (R.campaign_id + 0).is_(None)
    return CALLBACKS


# --- building blocks ------------------------------------------------------------------------------

def met_condition(start: datetime, end: datetime):
    """Judged met in [start, end): called (or reached, ``SLA_MET_ON``) before the deadline, at a
    moment of the period (``sla_met_at``)."""
    return and_(R.sla_met.is_(True), R.sla_met_at >= start, R.sla_met_at < end)


def missed_condition(now: datetime):
    """The request's deadline passed with no call in time (called late, still waiting, or
    closed without a call after its deadline)."""
    return or_(R.sla_met.is_(False), and_(R.sla_met.is_(None), R.sla_deadline <= func.coalesce(R.closed_at, now)))


def missed_in(start: datetime, end: datetime, now: datetime):
    """Judged missed in [start, end): its deadline fell in the period with no call in time."""
    return and_(R.sla_deadline >= start, R.sla_deadline < end, missed_condition(now))


def judged(keys: Callable[[object], list], scope: Scope, start: datetime, end: datetime,
           now: datetime) -> dict[tuple, Share]:
    """Within the SLA, per group: each request judged once, met at ``sla_met_at`` or missed at its
    deadline. ``keys(moment)`` gives the group columns from the moment it was judged (a unit, a
    local day, an hour…). The one place the met/missed pair is counted."""
    result: dict[tuple, Share] = defaultdict(Share)
    for moment, condition, met in ((R.sla_met_at, met_condition(start, end), True),
                                   (R.sla_deadline, missed_in(start, end, now), False)):
        columns = keys(moment)
        for *key, count in db.session.execute(select(*columns, func.count()).where(condition, *scope.conditions())
                                              .group_by(*grouping(*columns))):
            share = result[tuple(key)]
            share.whole += count
            share.part += count if met else 0
    return dict(result)


def total(shares: Iterable[Share]) -> Share:
    result = Share()
    for share in shares:
        result.part += share.part
        result.whole += share.whole
    return result


def active():
    """``status IN ('in_call', …)`` with the values written into the SQL: it then matches the
    partial index on active requests (migration 0009), on PostgreSQL even with prepared
    statements, and on SQLite, which only uses a partial index when the query repeats its terms."""
    return R.status.in_(bindparam("active_statuses", ACTIVE, expanding=True, literal_execute=True))


def at_risk_condition(now: datetime):
    codes = at_risk_codes(levels())
    fired = exists().where(Escalation.request_id == R.id, Escalation.level.in_(codes)) if codes else False
    return and_(active(), R.sla_met.is_(None), R.sla_deadline > now, fired)


def breached_condition(now: datetime):
    return and_(active(), R.sla_met.is_(None), R.sla_deadline <= now)


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


