"""The roster of a unit: seniors plan who works when (a weekly template per agent, the days that
differ, or a week imported as CSV); agents see their own; the callback-time estimate reads it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import delete, select

from ..domain.actors import Actor
from ..domain.roles import TAKES_CALLS
from ..domain.roster import Hours, ImportedDay, parse_week_csv, periods, planned
from ..extensions import db, insert_or_ignore, zone_named
from ..models import RosterDay, RosterTemplate, StaffUser
from .audit import record_event
from .unit_of_work import unit_of_work


def _hours(start: str | None, end: str | None) -> Hours | None:
    return Hours(time.fromisoformat(start), time.fromisoformat(end)) if start and end else None


def plans(user_ids: list[int], first: date, last: date) -> dict[int, tuple[dict[int, Hours], dict[date, Hours | None]]]:
    """Per agent: (template by weekday, the days that differ between ``first`` and ``last``)."""
    result: dict[int, tuple[dict[int, Hours], dict[date, Hours | None]]] = {uid: ({}, {}) for uid in user_ids}
    if not user_ids:
        return result
    for row in db.session.scalars(select(RosterTemplate).where(RosterTemplate.user_id.in_(user_ids))):
        result[row.user_id][0][row.weekday] = _hours(row.start, row.end)
    for row in db.session.scalars(select(RosterDay).where(RosterDay.user_id.in_(user_ids), RosterDay.day >= first,
                                                          RosterDay.day <= last)):
        result[row.user_id][1][row.day] = _hours(row.start, row.end)
    return result


def unit_agents(unit_id: int) -> list[StaffUser]:
    return list(db.session.scalars(select(StaffUser).where(
        StaffUser.unit_id == unit_id, StaffUser.role.in_(TAKES_CALLS), StaffUser.is_active_account.is_(True))
        .order_by(StaffUser.name)))


@dataclass(frozen=True)
class Week:
    monday: date
    days: list[date]
    rows: list[tuple[StaffUser, list[Hours | None], dict[int, Hours]]]  # agent, hours each day, template


def week(unit_id: int, monday: date) -> Week:
    days = [monday + timedelta(days=i) for i in range(7)]
    agents = unit_agents(unit_id)
    planned_by = plans([a.id for a in agents], days[0], days[-1])
    rows = [(agent, [planned(*planned_by[agent.id], day) for day in days], planned_by[agent.id][0])
            for agent in agents]
    return Week(monday, days, rows)


def presence(unit_id: int, now: datetime, days: int = 7) -> dict[int, list[tuple[datetime, datetime]]] | None:
    """Each agent's planned periods from today for ``days`` days (UTC), or None when nobody in the
    unit has a roster (the estimate then carries the present agents over)."""
    tz = zone_named(current_app.config["TIMEZONE"])
    today = now.astimezone(tz).date()
    agent_ids = [a.id for a in unit_agents(unit_id)]
    planned_by = plans(agent_ids, today, today + timedelta(days=days))
    if not any(templates or differing for templates, differing in planned_by.values()):
        return None
    return {uid: [p for p in periods(*planned_by[uid], today, today + timedelta(days=days), tz) if p[1] > now]
            for uid in agent_ids}


def set_template(user: StaffUser, week_hours: dict[int, Hours | None], *, actor: Actor, now: datetime) -> None:
    """The agent's usual week, every weekday at once (None: not working that day)."""
    with unit_of_work():
        db.session.execute(delete(RosterTemplate).where(RosterTemplate.user_id == user.id))
        db.session.add_all(RosterTemplate(user_id=user.id, weekday=weekday, start=f"{hours.start:%H:%M}",
                                          end=f"{hours.end:%H:%M}")
                           for weekday, hours in sorted(week_hours.items()) if hours is not None)
        record_event(request_id=None, action="roster.template", actor=actor, now=now, staff_user_id=user.id,
                     data={str(day): hours.label() if hours else None for day, hours in sorted(week_hours.items())})


def _write_day(user_id: int, day: date, hours: Hours | None, keep_template: bool) -> None:
    db.session.execute(delete(RosterDay).where(RosterDay.user_id == user_id, RosterDay.day == day))
    if not keep_template:
        db.session.execute(insert_or_ignore(RosterDay, "user_id", "day").values(
            user_id=user_id, day=day, start=f"{hours.start:%H:%M}" if hours else None,
            end=f"{hours.end:%H:%M}" if hours else None))


def set_day(user: StaffUser, day: date, hours: Hours | None, *, as_template: bool = False, actor: Actor,
            now: datetime) -> None:
    """Other hours on one day, a day off (``hours`` None), or back to the template."""
    with unit_of_work():
        _write_day(user.id, day, hours, as_template)
        record_event(request_id=None, action="roster.day", actor=actor, now=now, staff_user_id=user.id,
                     data={"day": day.isoformat(),
                           "hours": "template" if as_template else hours.label() if hours else "off"})


def import_week(unit_id: int, text: str, *, actor: Actor, now: datetime) -> int:
    """A week (or more) as CSV ``email;date;debut;fin``: all lines checked first, then kept together."""
    agents = {a.email.lower(): a for a in unit_agents(unit_id)}
    rows: list[ImportedDay] = parse_week_csv(text, agents)
    with unit_of_work():
        for row in rows:
            _write_day(agents[row.email].id, row.day, row.hours, False)
        record_event(request_id=None, action="roster.imported", actor=actor, now=now,
                     data={"unit_id": unit_id, "days": len(rows)})
    return len(rows)
