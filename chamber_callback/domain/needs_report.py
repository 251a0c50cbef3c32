"""The anonymised daily needs report for the prefecture: which needs the artisans expressed on one
day, by topic, département, sector and commune, without anyone being recognisable.

Pure: no Flask, no database. The input is an iterable of ``Fact`` (one request, or several alike
with ``count``), whatever their source: callback requests today, campaign answers later.

**The rule** (``build``), with ``MIN_COUNT`` = 5:

- Rows nest topic → département → sector → commune. At each level, within its parent row, a value
  with at least ``MIN_COUNT`` facts gets a row of its own; the others are pooled into one
  « autres … » row (« autres sujets », « autres départements », « autres secteurs », « autres
  communes »). When that pool would hold between 1 and ``MIN_COUNT - 1`` facts, the smallest row
  of its own joins it (complementary merging, ties by code), again until the pool is empty or
  large enough; when every value ends in the pool, the level is not broken down (« tous … »;
  for communes, the département row without commune).
- Communes are only given inside a named département (a commune inside « autres départements »
  would tell its département). Requests without a commune always go to the pool.
- So every row has at least ``MIN_COUNT`` facts and the rows partition the day: the total line is
  their sum, and no subtraction of published figures gives a count under ``MIN_COUNT``. Only a
  day with 1 to 4 facts in all is suppressed: one row and the total shown « < 5 », no figures.
- The urgent share of a row is shown only when the row has at least ``MIN_COUNT`` urgent and at
  least ``MIN_COUNT`` non-urgent facts; otherwise it says « fewer than 5 urgent » (or non-urgent)
  without a figure. The total line's share is shown when no row's share is withheld, or when the
  withheld rows together have at least ``MIN_COUNT`` urgent and ``MIN_COUNT`` non-urgent facts
  (subtracting then gives a pooled figure of at least 5 of each kind, never one withheld row).
- The trend compares a row's count with the mean of the ``BASELINE_DAYS`` days before, counted
  with the same rows (facts of those days are placed in today's rows: a commune without a row of
  its own today counts in today's « autres communes »). It is shown only when those days hold at
  least ``MIN_COUNT`` facts for the row, rounded to the nearest 10 % (halves upward).

**Limits**: each day is protected on its own. Comparing several days' reports, or the trend (an
approximate 7-day figure per row), may narrow a pooled figure; the rounding blurs it, it does not
rule it out. A sum of withheld urgent figures can bound each of them when they are few (two rows
with fewer than 5 urgent each and 8 together have 4 each). Zero is not protected (a day without
any request says so). The threshold protects counts, not what someone already knows: a group of
5 may still be one family's businesses.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from fractions import Fraction
from typing import NamedTuple

MIN_COUNT = 5  # the smallest count ever shown (rows, totals, urgent and non-urgent parts)
BASELINE_DAYS = 7  # the trend compares with the mean of the days before
TREND_STEP_PERCENT = 10  # trends are rounded to this many percent

LEVELS = ("topic", "departement", "sector", "commune")
TOPIC, DEPARTEMENT, SECTOR, COMMUNE = range(len(LEVELS))


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    return message


class Merged(Enum):
    """A row's value at a level when it is not one topic, département, sector or commune.

    A plain Enum (not a str): a topic coded "others" never mixes with it.
    """

    OTHERS = "others"  # « autres … »: the values without a row of their own (some have one)
    ALL = "all"  # « tous … »: this level is not broken down


MERGED_LABELS: dict[tuple[str, Merged], str] = {
    ("topic", Merged.OTHERS): N_("Autres sujets"), ("topic", Merged.ALL): N_("Tous sujets"),
    ("departement", Merged.OTHERS): N_("Autres départements"), ("departement", Merged.ALL): N_("Tous départements"),
    ("sector", Merged.OTHERS): N_("Autres secteurs"), ("sector", Merged.ALL): N_("Tous secteurs"),
    ("commune", Merged.OTHERS): N_("Autres communes"), ("commune", Merged.ALL): N_("Toutes communes"),
}


class Fact(NamedTuple):
    """Requests with the same topic code, département code, commune (INSEE code, None when
    unknown), sector code and urgency."""

    topic: str
    departement: str
    commune: str | None
    sector: str
    urgent: bool
    count: int = 1


class Urgency(StrEnum):
    SHOWN = "shown"
    FEW_URGENT = "few_urgent"  # fewer than MIN_COUNT urgent: no figure
    FEW_NOT_URGENT = "few_not_urgent"  # fewer than MIN_COUNT not urgent: no figure
    WITHHELD = "withheld"  # too few of both, a suppressed row, or a total that would tell a withheld row


Value = str | Merged


@dataclass(frozen=True)
class Row:
    topic: Value
    departement: Value
    sector: Value
    commune: Value
    count: int | None  # None: suppressed, shown « < 5 »
    urgency: Urgency
    urgent_percent: int | None  # set when urgency is SHOWN
    trend_percent: int | None  # +40 means 40 % above the mean of the days before; None: not shown

    @property
    def suppressed(self) -> bool:
        return self.count is None

    def value(self, level: str) -> Value:
        return getattr(self, level)


@dataclass(frozen=True)
class NeedsReport:
    rows: tuple[Row, ...]
    total: Row  # every level Merged.ALL

    @property
    def suppressed(self) -> bool:
        return self.total.suppressed


def _key(fact: Fact, level: int) -> str | None:
    return (fact.topic, fact.departement, fact.sector, fact.commune)[level]


def named_values(counts: dict[str | None, int]) -> set[str]:
    """The values that get a row of their own: at least MIN_COUNT each, with the smallest moved to
    the pool until the pool is empty or holds at least MIN_COUNT (None is never named)."""
    named = {key for key, n in counts.items() if key is not None and n >= MIN_COUNT}
    pool = sum(n for key, n in counts.items() if key not in named)
    while 0 < pool < MIN_COUNT and named:
        smallest = min(named, key=lambda key: (counts[key], key))
        named.discard(smallest)
        pool += counts[smallest]
    return named


@dataclass
class _Node:
    level: int
    named: dict[str, _Node] = field(default_factory=dict)  # in display order
    pool: _Node | None = None

    @property
    def pool_value(self) -> Merged:
        return Merged.OTHERS if self.named else Merged.ALL


def _build(facts: list[Fact], level: int, communes: bool) -> _Node:
    node = _Node(level)
    if level == len(LEVELS):
        return node
    if level == COMMUNE and not communes:
        node.pool = _build(facts, level + 1, communes)
        return node
    counts: Counter = Counter()
    for fact in facts:
        counts[_key(fact, level)] += fact.count
    named = named_values(counts)
    for key in sorted(named, key=lambda key: (-counts[key], key)):
        node.named[key] = _build([f for f in facts if _key(f, level) == key], level + 1, communes)
    rest = [f for f in facts if _key(f, level) not in named]
    if rest:
        node.pool = _build(rest, level + 1, communes and level != DEPARTEMENT)
    return node


def _paths(node: _Node, path: tuple = ()) -> Iterator[tuple]:
    if node.level == len(LEVELS):
        yield path
        return
    for key, child in node.named.items():
        yield from _paths(child, (*path, key))
    if node.pool is not None:
        yield from _paths(node.pool, (*path, node.pool_value))


def _locate(root: _Node, fact: Fact) -> tuple | None:
    """The row a fact counts in (None: no row holds it, e.g. a topic absent today)."""
    node, path = root, ()
    while node.level < len(LEVELS):
        key = _key(fact, node.level)
        if key is not None and key in node.named:
            node, path = node.named[key], (*path, key)
        elif node.pool is not None:
            node, path = node.pool, (*path, node.pool_value)
        else:
            return None
    return path


def _half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def urgency_of(count: int, urgent: int) -> Urgency:
    few_urgent, few_other = urgent < MIN_COUNT, count - urgent < MIN_COUNT
    if few_urgent and few_other:
        return Urgency.WITHHELD
    if few_urgent:
        return Urgency.FEW_URGENT
    if few_other:
        return Urgency.FEW_NOT_URGENT
    return Urgency.SHOWN


def trend_percent(count: int, baseline: int, days: int = BASELINE_DAYS) -> int | None:
    """``count`` against the mean of ``baseline`` facts over ``days``, rounded to TREND_STEP_PERCENT;
    None when the days before hold fewer than MIN_COUNT facts (too few to compare, and too few to tell)."""
    if baseline < MIN_COUNT:
        return None
    ratio = Fraction(count * days, baseline) - 1
    return _half_up(ratio * 100 / TREND_STEP_PERCENT) * TREND_STEP_PERCENT


def _percent(part: int, whole: int) -> int:
    return _half_up(Fraction(100 * part, whole))


def build(facts: Iterable[Fact], baseline: Iterable[Fact] = (), baseline_days: int = BASELINE_DAYS) -> NeedsReport:
    """The day's rows and total line from its facts, with trends from the ``baseline_days`` before."""
    facts = [fact for fact in facts if fact.count > 0]
    total = sum(fact.count for fact in facts)
    total_urgent = sum(fact.count for fact in facts if fact.urgent)
    baseline = [fact for fact in baseline if fact.count > 0]
    baseline_total = sum(fact.count for fact in baseline)
    everything = (Merged.ALL,) * len(LEVELS)
    if 0 < total < MIN_COUNT:
        hidden = Row(*everything, count=None, urgency=Urgency.WITHHELD, urgent_percent=None, trend_percent=None)
        return NeedsReport(rows=(hidden,), total=hidden)
    root = _build(facts, TOPIC, communes=True)
    counts: Counter = Counter()
    urgent: Counter = Counter()
    for fact in facts:
        path = _locate(root, fact)
        counts[path] += fact.count
        if fact.urgent:
            urgent[path] += fact.count
    before: Counter = Counter()
    for fact in baseline:
        path = _locate(root, fact)
        if path is not None:
            before[path] += fact.count
    rows = []
    for path in _paths(root):
        n, u = counts[path], urgent[path]
        state = urgency_of(n, u)
        rows.append(Row(*path, count=n, urgency=state,
                        urgent_percent=_percent(u, n) if state is Urgency.SHOWN else None,
                        trend_percent=trend_percent(n, before[path], baseline_days)))
    withheld = [(row.count, urgent[(row.topic, row.departement, row.sector, row.commune)])
                for row in rows if row.urgency is not Urgency.SHOWN]
    withheld_urgent = sum(u for _n, u in withheld)
    withheld_other = sum(n - u for n, u in withheld)
    if total == 0:
        total_state = Urgency.WITHHELD
    elif not withheld or (withheld_urgent >= MIN_COUNT and withheld_other >= MIN_COUNT):
        total_state = urgency_of(total, total_urgent)
    else:
        total_state = Urgency.WITHHELD
    total_row = Row(*everything, count=total, urgency=total_state,
                    urgent_percent=_percent(total_urgent, total) if total_state is Urgency.SHOWN else None,
                    trend_percent=trend_percent(total, baseline_total, baseline_days))
    return NeedsReport(rows=tuple(rows), total=total_row)
