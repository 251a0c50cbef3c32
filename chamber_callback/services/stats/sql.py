"""SQL building blocks for the figures: local time buckets, percentiles, day bounds."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, literal_column, select

from ...extensions import db, zone_named
from .definitions import WHOLE_PERIOD, R, grouping

GRAINS = {  # grain: (PostgreSQL to_char format, Python strftime format)
    "hour": ("YYYY-MM-DD HH24", "%Y-%m-%d %H"),
    "day": ("YYYY-MM-DD", "%Y-%m-%d"),
    "week": ('IYYY-"S"IW', "%G-S%V"),
}
_TZ_NAME = re.compile(r"^[A-Za-z0-9_+\-/]+$")


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



def ranked(value, where: Iterable, keys: list, source=R, extra: Iterable = ()):
    """Rows ranked by ``value`` within each group of ``keys``: for nearest-rank percentiles
    (``extra``: labelled columns carried along, for counts in the same pass)."""
    partition = {"partition_by": grouping(*keys)} if grouping(*keys) else {}
    columns = [key.label(f"k{i}") for i, key in enumerate(keys)]
    return select(*columns, *extra, value.label("v"),
                  func.row_number().over(order_by=value, **partition).label("rn"),
                  func.count().over(**partition).label("n")).select_from(source).where(*where).subquery()


def median(ranked):
    """The nearest-rank median of the ``ranked`` rows (an aggregate, per group)."""
    return func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.v)))


def percentile_query(ranked, key_count: int):
    keys = [ranked.c[f"k{i}"] for i in range(key_count)]
    return select(*keys, func.max(ranked.c.n), median(ranked),
                  func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.v)))
                  ).group_by(*keys)




def hour_keys(start: datetime, end: datetime, tz: str) -> list[str]:
    zone, keys, moment = zone_named(tz), [], start
    while moment < end:
        key = moment.astimezone(zone).strftime(GRAINS["hour"][1])
        if not keys or keys[-1] != key:
            keys.append(key)
        moment += timedelta(hours=1)
    return keys


def utc_hour(column):
    """The UTC hour of a timestamp as 'YYYY-MM-DD HH', in SQL native to each database (cheaper
    than the local-time function on SQLite); hours map one to one to local hours."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(literal_column("'UTC'"), column), literal_column("'YYYY-MM-DD HH24'"))
    return func.strftime(literal_column("'%Y-%m-%d %H'"), column)


