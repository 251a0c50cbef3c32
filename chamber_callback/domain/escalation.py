"""Escalation levels, as data, and when each is due for a request.

Default: at 50 % of the SLA the request gains priority; at 75 % the unit's senior is notified;
at 100 % the request is breached: managers are notified and any unit may take it, with top
priority. While it still waits, managers are reminded every ``repeat_every`` after the deadline.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .sla import BusinessCalendar, add_open_time, instant_at_share

PRIORITY_NORMAL, PRIORITY_RAISED, PRIORITY_TOP = 0, 1, 2
REPEAT_PREFIX = "breach+"


@dataclass(frozen=True)
class EscalationLevel:
    code: str
    share: float  # of the SLA used
    priority: int = PRIORITY_NORMAL  # the request's priority from this level on
    notify: tuple[str, ...] = ()  # roles to notify: "senior" (of the unit), "manager"
    overflow: bool = False  # any unit may take the request from this level on


DEFAULT_LEVELS_SPEC = "half@50:raise; senior@75:raise,senior; breach@100:top,manager,overflow"
_OPTIONS = {"raise", "top", "senior", "manager", "overflow"}


def parse_levels(spec: str) -> tuple[EscalationLevel, ...]:
    """Levels from configuration: ``code@percent:options; …`` with options among raise, top
    (priority), senior, manager (who is notified) and overflow (any unit may take it)."""
    levels = []
    for part in filter(None, (chunk.strip() for chunk in spec.split(";"))):
        head, _, options_text = part.partition(":")
        code, _, percent = head.partition("@")
        options = {o.strip() for o in options_text.split(",") if o.strip()}
        if not code.strip() or not percent.strip().replace(".", "", 1).isdigit() or options - _OPTIONS:
            raise ValueError(f"bad escalation level {part!r}: expected code@percent:{','.join(sorted(_OPTIONS))}")
        share = float(percent) / 100
        if not 0 < share <= 1:
            raise ValueError(f"escalation level {code!r}: the percentage must be between 1 and 100")
        priority = PRIORITY_TOP if "top" in options else PRIORITY_RAISED if "raise" in options else PRIORITY_NORMAL
        levels.append(EscalationLevel(code.strip(), share, priority,
                                      tuple(role for role in ("senior", "manager") if role in options),
                                      "overflow" in options))
    if len({level.code for level in levels}) != len(levels) or any(lv.code.startswith(REPEAT_PREFIX) for lv in levels):
        raise ValueError("escalation level codes must be unique and must not start with 'breach+'")
    return tuple(sorted(levels, key=lambda level: level.share))


DEFAULT_LEVELS: tuple[EscalationLevel, ...] = parse_levels(DEFAULT_LEVELS_SPEC)


def repeat_level(number: int) -> EscalationLevel:
    """The n-th reminder after the breach (managers again)."""
    return EscalationLevel(f"{REPEAT_PREFIX}{number}", 1.0, priority=PRIORITY_TOP, notify=("manager",),
                           overflow=True)


@dataclass(frozen=True)
class Due:
    level: EscalationLevel
    at: datetime


def next_escalation(submitted_at: datetime, deadline: datetime, fired: Collection[str],
                    levels: Sequence[EscalationLevel] = DEFAULT_LEVELS, repeat_every: timedelta | None = None,
                    calendar: BusinessCalendar | None = None) -> Due | None:
    """The first level not fired yet, and when it is due (None when nothing is left)."""
    for level in sorted(levels, key=lambda lv: lv.share):
        if level.code not in fired:
            return Due(level, instant_at_share(submitted_at, deadline, level.share, calendar))
    if not repeat_every:
        return None
    number = 1 + max((int(code[len(REPEAT_PREFIX):]) for code in fired if code.startswith(REPEAT_PREFIX)), default=0)
    return Due(repeat_level(number), reminder_at(deadline, number, repeat_every, calendar))


def reminder_at(deadline: datetime, number: int, repeat_every: timedelta,
                calendar: BusinessCalendar | None) -> datetime:
    """The n-th reminder after the deadline; on the business clock, in open time (no pages at night)."""
    return add_open_time(deadline, repeat_every * number, calendar)


def due_now(submitted_at: datetime, deadline: datetime, fired: Collection[str], now: datetime,
            levels: Sequence[EscalationLevel] = DEFAULT_LEVELS, repeat_every: timedelta | None = None,
            calendar: BusinessCalendar | None = None) -> list[EscalationLevel]:
    """Every level due at ``now`` and not fired yet, in order. A late tick catches up the levels,
    but sends only the latest reminder (not one per missed period)."""
    fired = set(fired)
    due = []
    while (step := next_escalation(submitted_at, deadline, fired, levels, repeat_every, calendar)) and step.at <= now:
        if step.level.code.startswith(REPEAT_PREFIX):
            number = int(step.level.code[len(REPEAT_PREFIX):])
            while reminder_at(deadline, number + 1, repeat_every, calendar) <= now:
                number += 1
            due.append(repeat_level(number))
            break
        due.append(step.level)
        fired.add(step.level.code)
    return due


class SlaState(StrEnum):
    """Where a request not yet called stands against its deadline (the colour on screens).

    - ok: nothing has fired yet;
    - raised: a level has raised its priority (by default 50 % of the SLA);
    - at risk: the first level that tells someone to act has come (by default the senior, at 75 %);
    - breached: the deadline has passed.
    The thresholds come from the configured levels (``ESCALATION_LEVELS``, editable by admins).
    """

    OK = "ok"
    RAISED = "raised"
    AT_RISK = "at-risk"
    BREACHED = "breached"


@dataclass(frozen=True)
class Thresholds:
    raised: float | None  # share of the SLA from which a request is "raised" (None: never)
    at_risk: float | None  # from which it is "at risk" (None: never before the breach)


def thresholds(levels: Sequence[EscalationLevel] = DEFAULT_LEVELS) -> Thresholds:
    before_breach = [level for level in levels if level.share < 1]
    at_risk = min((level.share for level in before_breach if level.notify), default=None)
    raised = min((level.share for level in before_breach if level.priority > PRIORITY_NORMAL
                  and (at_risk is None or level.share < at_risk)), default=None)
    return Thresholds(raised, at_risk)


def at_risk_codes(levels: Sequence[EscalationLevel] = DEFAULT_LEVELS) -> list[str]:
    """Levels whose firing makes a request at risk (counted in SQL from the escalations fired)."""
    at_risk = thresholds(levels).at_risk
    return [] if at_risk is None else [level.code for level in levels if at_risk <= level.share < 1]


def sla_state(share_used: float, levels: Sequence[EscalationLevel] = DEFAULT_LEVELS) -> SlaState:
    """The state of a request not yet called, from the share of its SLA used."""
    if share_used >= 1:
        return SlaState.BREACHED
    limits = thresholds(levels)
    if limits.at_risk is not None and share_used >= limits.at_risk:
        return SlaState.AT_RISK
    if limits.raised is not None and share_used >= limits.raised:
        return SlaState.RAISED
    return SlaState.OK
