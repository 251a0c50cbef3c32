"""The roster pages: seniors plan their unit's week (managers any unit's) in ``/equipe/planning``,
agents read their own in ``/console/planning``."""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth import roles_required
from ..clock import utcnow
from ..domain.actors import Actor
from ..domain.roles import SUPERVISES, TAKES_CALLS, locked_to_own_unit
from ..domain.roster import RosterError, parse_hours
from ..extensions import db, zone_named
from ..labels import WEEKDAY_LABELS
from ..models import RegionalUnit, StaffUser
from ..services import roster
from ..web import int_arg
from . import bp
from .forms import check_action_form

IMPORT_MAX = 200_000  # characters of CSV


def _today() -> date:
    return utcnow().astimezone(zone_named(current_app.config["TIMEZONE"])).date()


def _unit_id() -> int | None:
    if locked_to_own_unit(current_user.role):
        return current_user.unit_id
    return int_arg(request.values, "unite")


def _monday(raw: str | None) -> date:
    try:
        day = date.fromisoformat(raw) if raw and len(raw) == 10 else _today()
    except ValueError:
        day = _today()
    return day - timedelta(days=day.weekday())


def _back(unit_id: int | None, monday: date):
    return redirect(url_for("staff.planning", unite=unit_id if not locked_to_own_unit(current_user.role) else None,
                            semaine=monday.isoformat()))


def _agent_in_scope(unit_id: int | None) -> StaffUser:
    agent = db.session.get(StaffUser, int_arg(request.form, "user_id") or 0)
    if agent is None or agent.role not in TAKES_CALLS or unit_id is None or agent.unit_id != unit_id:
        abort(404)
    return agent


def _error(error: RosterError) -> None:
    flash(_(error.message, **error.params), "error")


@bp.get("/equipe/planning")
@roles_required(SUPERVISES)
def planning():
    units = db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.name)).all()
    unit_id = _unit_id() or (units[0].id if units else None)
    monday = _monday(request.args.get("semaine"))
    return render_template("staff/planning.html", week=roster.week(unit_id, monday), units=units, unit_id=unit_id,
                           weekdays=WEEKDAY_LABELS, previous=monday - timedelta(days=7),
                           following=monday + timedelta(days=7), today=_today())


@bp.post("/equipe/planning/modele")
@roles_required(SUPERVISES)
def planning_template():
    check_action_form()
    unit_id, monday = _unit_id(), _monday(request.form.get("semaine"))
    agent = _agent_in_scope(unit_id)
    try:
        hours = {day: parse_hours(request.form.get(f"start{day}"), request.form.get(f"end{day}")) for day in range(7)}
    except RosterError as error:
        _error(error)
        return _back(unit_id, monday)
    roster.set_template(agent, hours, actor=Actor.staff(current_user.id), now=utcnow())
    flash(_("Semaine type de %(name)s enregistrée.", name=agent.name), "success")
    return _back(unit_id, monday)


@bp.post("/equipe/planning/jour")
@roles_required(SUPERVISES)
def planning_day():
    check_action_form()
    unit_id, monday = _unit_id(), _monday(request.form.get("semaine"))
    agent = _agent_in_scope(unit_id)
    try:
        day = date.fromisoformat(request.form.get("day", ""))
    except ValueError:
        abort(400)
    what = request.form.get("what")
    try:
        hours = parse_hours(request.form.get("start"), request.form.get("end")) if what == "hours" else None
    except RosterError as error:
        _error(error)
        return _back(unit_id, monday)
    if what == "hours" and hours is None:
        flash(_("Indiquez les heures de début et de fin."), "error")
        return _back(unit_id, monday)
    roster.set_day(agent, day, hours, as_template=what == "template", actor=Actor.staff(current_user.id), now=utcnow())
    flash(_("Planning de %(name)s mis à jour pour le %(day)s.", name=agent.name, day=day.strftime("%d/%m")), "success")
    return _back(unit_id, monday)


@bp.post("/equipe/planning/import")
@roles_required(SUPERVISES)
def planning_import():
    check_action_form()
    unit_id, monday = _unit_id(), _monday(request.form.get("semaine"))
    if unit_id is None:
        abort(404)
    upload = request.files.get("file")
    text = upload.read(IMPORT_MAX + 1).decode("utf-8-sig", errors="replace") if upload else request.form.get("csv", "")
    if len(text) > IMPORT_MAX:
        flash(_("Fichier trop long : importez une semaine ou deux à la fois."), "error")
        return _back(unit_id, monday)
    try:
        count = roster.import_week(unit_id, text, actor=Actor.staff(current_user.id), now=utcnow())
    except RosterError as error:
        _error(error)
        return _back(unit_id, monday)
    flash(_("%(n)d journée(s) importée(s).", n=count), "success")
    return _back(unit_id, monday)


@bp.get("/console/planning")
@roles_required(TAKES_CALLS)
def my_planning():
    today = _today()
    monday = today - timedelta(days=today.weekday())
    weeks = [roster.week(current_user.unit_id, monday + timedelta(days=7 * n)) for n in range(2)]
    mine = [(w, next((hours for agent, hours, _t in w.rows if agent.id == current_user.id), [None] * 7))
            for w in weeks]
    return render_template("staff/my_planning.html", weeks=mine, weekdays=WEEKDAY_LABELS, today=today)
