"""Days the chamber does not answer (besides public holidays), for the whole chamber or one unit.

Used by the administration pages and the ``closed-day`` command. Under the business-hours clock,
the deadlines of requests not called yet move with the calendar.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import holidays as holidays_lib
from flask_babel import gettext as _
from sqlalchemy import select

from ..domain.actors import Actor
from ..domain.sla import HOLIDAY_SUBDIVISIONS, public_holidays
from ..extensions import begin_write, db
from ..models import ClosedDay, RegionalUnit
from .audit import record_event
from .sla import recompute_waiting_deadlines

REASON_MAX = 200


class ClosedDayError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ClosedDayChange:
    changed: int  # closures added or removed
    moved: int  # waiting requests whose deadline moved


def _describe(day: date, unit: RegionalUnit | None, reason: str | None) -> dict:
    return {"day": day.isoformat(), "unit": unit.code if unit else None, "reason": reason}


def _same_day(day: date, unit_id: int | None):
    query = select(ClosedDay).where(ClosedDay.day == day)
    return query.where(ClosedDay.unit_id == unit_id) if unit_id else query.where(ClosedDay.unit_id.is_(None))


def add_closed_day(day: date, unit_id: int | None, reason: str | None, *, actor: Actor,
                   now: datetime) -> ClosedDayChange:
    """Close ``day`` (for one unit, or all when ``unit_id`` is None); a day already closed stays as it is."""
    reason = (reason or "").strip() or None
    if reason and len(reason) > REASON_MAX:
        raise ClosedDayError(_("Le motif compte %(n)d caractères au plus.", n=REASON_MAX))
    unit = db.session.get(RegionalUnit, unit_id) if unit_id else None
    if unit_id and unit is None:
        raise ClosedDayError(_("Unité inconnue."))
    begin_write()
    if db.session.scalars(_same_day(day, unit_id)).first() is not None:
        db.session.rollback()
        return ClosedDayChange(0, 0)
    db.session.add(ClosedDay(day=day, unit_id=unit_id, reason=reason, created_at=now))
    record_event(request_id=None, action="admin.closed_day_added", actor=actor, now=now,
                 data={"changes": {"closed_day": {"old": None, "new": _describe(day, unit, reason)}}})
    db.session.commit()
    return ClosedDayChange(1, recompute_waiting_deadlines(now, unit_id))


def remove_closed_day(day: date, unit_id: int | None, *, actor: Actor, now: datetime) -> ClosedDayChange:
    """Open ``day`` again for that scope (the chamber, or one unit)."""
    unit = db.session.get(RegionalUnit, unit_id) if unit_id else None
    begin_write()
    rows = db.session.scalars(_same_day(day, unit_id)).all()
    for row in rows:
        record_event(request_id=None, action="admin.closed_day_removed", actor=actor, now=now,
                     data={"changes": {"closed_day": {"old": _describe(day, unit, row.reason), "new": None}}})
        db.session.delete(row)
    db.session.commit()
    if not rows:
        return ClosedDayChange(0, 0)
    return ClosedDayChange(len(rows), recompute_waiting_deadlines(now, unit_id))


def closed_days_from(first: date) -> list[ClosedDay]:
    """Closed days from ``first`` on (the page shows the last week too)."""
    return list(db.session.scalars(select(ClosedDay).where(ClosedDay.day >= first)
                                   .order_by(ClosedDay.day, ClosedDay.unit_id)))


@dataclass(frozen=True)
class HolidayGroup:
    subdivision: str  # holidays' code: 57, 6AE, 971…
    departements: list[str]
    days: list[tuple[date, str]]  # (day, name) besides the national ones


def public_holidays_ahead(today: date, days: int = 365) -> tuple[list[tuple[date, str]],
                                                                 list[tuple[RegionalUnit, list[HolidayGroup]]]]:
    """The public holidays of the coming year: the national ones, then for each unit the
    départements with more (Alsace, Moselle, overseas) and their extra days."""
    horizon = today + timedelta(days=days)
    years = (today.year, today.year + 1)

    def days_of(departement: str | None, subdiv: str | None, besides: frozenset = frozenset()):
        names = holidays_lib.country_holidays("FR", subdiv=subdiv, years=list(years), language="fr")
        found = sorted(d for year in years for d in public_holidays(departement, year)
                       if today <= d <= horizon and d not in besides)
        return [(d, names.get(d, "")) for d in found]

    national = frozenset(d for year in years for d in public_holidays(None, year))
    by_unit = []
    for unit in db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.name)):
        groups: dict[str, list[str]] = {}
        for departement in unit.departements:
            subdiv = HOLIDAY_SUBDIVISIONS.get(departement.code)
            if subdiv:
                groups.setdefault(subdiv, []).append(departement.code)
        by_unit.append((unit, [HolidayGroup(subdiv, codes, days_of(codes[0], subdiv, national))
                               for subdiv, codes in groups.items()]))
    return days_of(None, None), by_unit
