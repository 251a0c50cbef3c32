"""Units (name, hours, senior, départements) and topics."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import ADMINISTERS, Role
from ..extensions import db
from ..labels import WEEKDAY_LABELS
from ..models import Departement, RegionalUnit, Topic
from ..services import admin as admin_service
from ..services import directory, settings
from ..services.admin import AdminError
from ..services.sla import opening_hours
from . import bp
from .common import actor, field_error
from .forms import (
    DepartementMoveForm,
    OpeningHoursForm,
    SeniorForm,
    TopicCreateForm,
    TopicForm,
    TopicMoveForm,
    UnitNameForm,
    choices,
)

# --- units -------------------------------------------------------------------------------------------

def hours_summary(unit: RegionalUnit) -> list[str]:
    """« lun.–sam. 08:00–21:00 »: consecutive days with the same hours on one line."""
    hours = opening_hours(unit)
    lines, day = [], 0
    while day < 7:
        if day not in hours:
            day += 1
            continue
        end = day
        while end + 1 < 7 and hours.get(end + 1) == hours[day]:
            end += 1
        days = str(WEEKDAY_LABELS[day])[:3].lower() + "." + (
            "–" + str(WEEKDAY_LABELS[end])[:3].lower() + "." if end > day else "")
        lines.append(f"{days} {hours[day][0].strftime('%H:%M')}–{hours[day][1].strftime('%H:%M')}")
        day = end + 1
    return lines


@bp.get("/unites")
@roles_required(ADMINISTERS)
def units():
    rows = [(unit, directory.unit_seniors(unit.id), hours_summary(unit)) for unit in directory.units()]
    return render_template("admin/units.html", rows=rows)


def _unit_or_404(unit_id: int) -> RegionalUnit:
    return db.session.get(RegionalUnit, unit_id) or abort(404)


def _unit_page(unit: RegionalUnit, *, name_form=None, hours_form=None, senior_form=None, status=200):
    if name_form is None:
        name_form = UnitNameForm(formdata=None, obj=unit)
    if hours_form is None:
        hours_form = OpeningHoursForm(formdata=None)
        current = opening_hours(unit)
        for day, _label, closed, start, end in hours_form.rows():
            closed.data = day not in current
            start.data = current[day][0].strftime("%H:%M") if day in current else ""
            end.data = current[day][1].strftime("%H:%M") if day in current else ""
    members = directory.unit_members(unit.id)
    if senior_form is None:
        senior_form = SeniorForm(formdata=None)
    senior_form.user_id.choices = choices([("", _("— Choisissez —"))] + [
        (str(m.id), m.name + (" " + _("(senior)") if m.role == Role.SENIOR else "")) for m in members])
    unit_choices = choices((str(u.id), u.name) for u in directory.units())
    move_forms = {}
    for departement in unit.departements:
        move_form = DepartementMoveForm(formdata=None, code=departement.code, unit_id=str(unit.id))
        move_form.unit_id.choices = unit_choices
        move_forms[departement.code] = move_form
    return render_template("admin/unit.html", unit=unit, name_form=name_form, hours_form=hours_form,
                           senior_form=senior_form, move_forms=move_forms,
                           seniors=directory.unit_seniors(unit.id),
                           business_clock=settings.get("SLA_CLOCK") == "business"), status


@bp.route("/unites/<int:unit_id>", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def unit_edit(unit_id: int):
    unit = _unit_or_404(unit_id)
    if request.method == "GET":
        return _unit_page(unit)
    form = UnitNameForm()
    if form.validate_on_submit():
        try:
            changes = admin_service.rename_unit(unit.id, form.name.data, actor=actor(), now=utcnow())
        except AdminError as error:
            field_error(form, error)
        else:
            flash(_("Unité renommée.") if changes else _("Aucune modification."), "success")
            return redirect(url_for("admin.unit_edit", unit_id=unit.id))
    return _unit_page(unit, name_form=form, status=422)


@bp.post("/unites/<int:unit_id>/horaires")
@roles_required(ADMINISTERS)
def unit_hours(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = OpeningHoursForm()
    if form.validate_on_submit():
        try:
            hours = admin_service.parse_opening_hours(form.values())
            moved = admin_service.set_opening_hours(unit.id, hours, actor=actor(), now=utcnow())
        except AdminError as error:
            field_error(form, error)
        else:
            flash(_("Horaires enregistrés ; %(n)d demande(s) en attente ont une nouvelle échéance.", n=moved),
                  "success")
            return redirect(url_for("admin.unit_edit", unit_id=unit.id))
    return _unit_page(unit, hours_form=form, status=422)


@bp.post("/unites/<int:unit_id>/senior")
@roles_required(ADMINISTERS)
def unit_senior(unit_id: int):
    unit = _unit_or_404(unit_id)
    form = SeniorForm()
    form.user_id.choices = None  # checked by the service (a member of this unit)
    form.user_id.validate_choice = False
    if form.validate_on_submit():
        try:
            admin_service.make_senior(unit.id, int(form.user_id.data), replace=form.replace.data, actor=actor(),
                                      now=utcnow())
        except (AdminError, ValueError) as error:
            field_error(form, error if isinstance(error, AdminError) else AdminError(_("Choix invalide."), "user_id"))
        else:
            flash(_("Senior de l'unité mis à jour."), "success")
            return redirect(url_for("admin.unit_edit", unit_id=unit.id))
    return _unit_page(unit, senior_form=form, status=422)


@bp.post("/departements/<code>/unite")
@roles_required(ADMINISTERS)
def departement_move(code: str):
    departement = db.session.get(Departement, code) or abort(404)
    form = DepartementMoveForm()
    form.unit_id.choices = choices((str(u.id), u.name) for u in directory.units())
    if not form.validate_on_submit():
        flash(_("Choisissez une unité."), "error")
        return redirect(url_for("admin.unit_edit", unit_id=departement.unit_id))
    previous_unit = departement.unit_id
    try:
        moved = admin_service.move_departement(code, int(form.unit_id.data), actor=actor(), now=utcnow())
    except AdminError as error:
        flash(error.message, "error")
    else:
        if moved:
            flash(_("Département %(code)s rattaché à une autre unité : les nouvelles demandes y iront, les demandes "
                    "en cours restent dans leur unité.", code=code), "success")
    return redirect(url_for("admin.unit_edit", unit_id=previous_unit))


# --- topics ------------------------------------------------------------------------------------------

def _topics_page(create_form=None, status=200):
    topics = directory.topics()
    edit_forms = {t.id: TopicForm(formdata=None, obj=t, prefix=f"t{t.id}") for t in topics}
    return render_template("admin/topics.html", topics=topics,
                           create_form=create_form or TopicCreateForm(formdata=None),
                           edit_forms=edit_forms, move_form=TopicMoveForm(formdata=None)), status


@bp.route("/sujets", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def topics():
    if request.method == "GET":
        return _topics_page()
    form = TopicCreateForm()
    if form.validate_on_submit():
        try:
            topic = admin_service.create_topic(form.code.data, form.label.data, give_to_agents=form.give_to_agents.data,
                                               actor=actor(), now=utcnow())
        except AdminError as error:
            field_error(form, error)
        else:
            flash(_("Sujet « %(label)s » créé.", label=topic.label), "success")
            return redirect(url_for("admin.topics"))
    return _topics_page(create_form=form, status=422)


@bp.post("/sujets/<int:topic_id>")
@roles_required(ADMINISTERS)
def topic_update(topic_id: int):
    topic = db.session.get(Topic, topic_id) or abort(404)
    form = TopicForm(prefix=f"t{topic.id}")
    if form.validate_on_submit():
        try:
            changes = admin_service.update_topic(topic.id, label=form.label.data, active=form.active.data,
                                                 actor=actor(), now=utcnow())
        except AdminError as error:
            flash(error.message, "error")
        else:
            flash(_("Sujet mis à jour.") if changes else _("Aucune modification."), "success")
    else:
        flash(_("Indiquez un libellé (200 caractères au plus)."), "error")
    return redirect(url_for("admin.topics"))


@bp.post("/sujets/<int:topic_id>/deplacer")
@roles_required(ADMINISTERS)
def topic_move(topic_id: int):
    db.session.get(Topic, topic_id) or abort(404)
    form = TopicMoveForm()
    if not form.validate_on_submit() or form.direction.data not in ("up", "down"):
        abort(400)
    admin_service.move_topic(topic_id, -1 if form.direction.data == "up" else 1, actor=actor(), now=utcnow())
    return redirect(url_for("admin.topics"))
