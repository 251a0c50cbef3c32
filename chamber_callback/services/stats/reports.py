"""Reports per unit or per agent, by day, ISO week or the whole period (and their CSV)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select

from ...domain.attempts import Outcome
from ...extensions import db
from ...models import RegionalUnit, StaffUser
from .definitions import A, Percentiles, R, Scope, Share, judged
from .sql import grouping, local_bucket, percentile_query, ranked


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
             .group_by(*grouping(group, call_bucket, A.outcome)))
    handled = (select(group, call_bucket, func.count(A.request_id.distinct())).select_from(A)
               .join(R, R.id == A.request_id).where(A.started_at >= start, A.started_at < end, *where)
               .group_by(*grouping(group, call_bucket)))
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
                .group_by(*grouping(R.unit_id, received_bucket))):
            row(key, bucket).received = count
        for (key, bucket), share in judged(lambda moment: [R.unit_id, local_bucket(moment, grain, tz)], scope,
                                           start, end, now).items():
            target = row(key, bucket)
            target.met, target.missed = share.part, share.whole - share.part
        closed_bucket = local_bucket(R.closed_at, grain, tz)
        for key, bucket, status, count in db.session.execute(select(R.unit_id, closed_bucket, R.status, func.count())
                                                             .where(R.closed_at >= start, R.closed_at < end, *where)
                                                             .group_by(*grouping(R.unit_id, closed_bucket, R.status))):
            row(key, bucket).closed[status] = count
        first_bucket = local_bucket(R.first_attempt_at, grain, tz)
        by_rank = ranked(R.time_to_first_attempt_s,
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
                .group_by(*grouping(A.agent_id, first_bucket))):
            target = row(key, bucket)
            target.met, target.missed = met, missed
        by_rank = ranked(R.time_to_first_attempt_s, [R.first_attempt_at >= start, R.first_attempt_at < end,
                                                     A.started_at >= start, A.started_at < end, *where],
                         [A.agent_id, first_bucket], source=source)
    for key, bucket, count, median, p90 in db.session.execute(percentile_query(by_rank, 2)):
        row(key, bucket).ttfa = Percentiles(count, median, p90)
    return sorted(rows.values(), key=lambda r: (r.label, r.bucket))


OUTCOMES = [outcome.value for outcome in Outcome]
