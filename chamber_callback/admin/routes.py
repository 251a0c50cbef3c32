"""Administration pages. Thin: forms in, services do the work (one transaction, audited), pages out."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, or_, select

from ..auth import roles_required
from ..clock import utcnow
from ..domain.actors import Actor
from ..domain.roles import ADMINISTERS, ALL_ROLES, TAKES_CALLS
from ..domain.sla import HOLIDAY_SUBDIVISIONS, public_holidays
from ..extensions import db
from ..models import AuditEvent, ClosedDay, Departement, RegionalUnit, StaffUser, Topic
from ..services import admin as admin_service
from ..services import settings
from ..services.admin import AdminError
from ..services.closed_days import ClosedDayError, add_closed_day, remove_closed_day
from ..services.sla import opening_hours
from ..staff.forms import ActionForm, check_action_form
from . import bp
from .forms import (
    CLOCK_LABELS,
    MET_ON_LABELS,
    ROLE_LABELS,
    WEEKDAY_LABELS,
    ClosedDayForm,
    CrisisForm,
    DepartementMoveForm,
    NewUserForm,
    OpeningHoursForm,
    PasswordResetForm,
    SeniorForm,
    SlaSettingsForm,
    TopicCreateForm,
    TopicForm,
    TopicMoveForm,
    UnitNameForm,
    UserForm,
    choices,
)

JOURNAL_PAGE_SIZE = 50
SLA_KEYS = ("SLA_HOURS", "SLA_CLOCK", "SLA_MET_ON", "ESCALATION_LEVELS", "ESCALATION_REPEAT_HOURS",
            "OFFER_TIMEOUT_SECONDS", "RETRY_GAP_MINUTES", "MAX_ATTEMPTS")
CRISIS_KEYS = ("INTAKE_URGENT_ONLY", "PUBLIC_BANNER", "INTAKE_PAUSED", "INTAKE_PAUSED_MESSAGE", "CHAMBER_PHONE")



def actor() -> Actor:
    return Actor.staff(current_user.id)


def _units() -> list[RegionalUnit]:
    return list(db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.name)))


def _topics(active_only: bool = False) -> list[Topic]:
    query = select(Topic).order_by(Topic.position, Topic.id)
    return list(db.session.scalars(query.where(Topic.active.is_(True)) if active_only else query))


def _field_error(form, error: AdminError) -> None:
    """Put the service's message next to its field (or on top of the page)."""
    if error.field and error.field in form:
        form[error.field].errors = list(form[error.field].errors) + [error.message]
    else:
        flash(error.message, "error")


# --- home --------------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(ADMINISTERS)
def home():
    counts = {
        "users": db.session.scalar(select(func.count()).select_from(StaffUser)
                                   .where(StaffUser.is_active_account.is_(True))),
        "units": db.session.scalar(select(func.count()).select_from(RegionalUnit)),
        "topics": db.session.scalar(select(func.count()).select_from(Topic).where(Topic.active.is_(True))),
        "closed_days": db.session.scalar(select(func.count()).select_from(ClosedDay)
                                         .where(ClosedDay.day >= _today())),
    }
    without_senior = [unit for unit in _units() if not admin_service.unit_seniors(unit.id)]
    return render_template("admin/home.html", crisis=settings.intake_state(), counts=counts,
                           without_senior=without_senior,
                           sla_clock=CLOCK_LABELS[settings.get("SLA_CLOCK")])


def _today() -> date:
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


# --- users -------------------------------------------------------------------------------------------

@bp.get("/utilisateurs")
@roles_required(ADMINISTERS)
def users():
    unit_id = request.args.get("unite", type=int)
    role = request.args.get("role") if request.args.get("role") in ALL_ROLES else None
    query = select(StaffUser).order_by(StaffUser.is_active_account.desc(), StaffUser.name)
    if unit_id:
        query = query.where(StaffUser.unit_id == unit_id)
    if role:
        query = query.where(StaffUser.role == role)
    return render_template("admin/users.html", users=db.session.scalars(query).all(), units=_units(),
                           unit_id=unit_id, role=role, role_labels=ROLE_LABELS)


def _prepare_user_form(form: UserForm) -> None:
    form.unit_id.choices = choices([("", _("— Aucune (manager, administrateur) —"))]
                                   + [(str(u.id), u.name) for u in _units()])
    form.skills.choices = choices((t.code, t.label + ("" if t.active else " " + _("(inactif)"))) for t in _topics())


def _unit_id(form) -> int | None:
    return int(form.unit_id.data) if form.unit_id.data else None


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def user_new():
    form = NewUserForm()
    _prepare_user_form(form)
    if request.method == "GET":
        form.skills.data = [t.code for t in _topics(active_only=True)]
    if form.validate_on_submit():
        try:
            user, password = admin_service.admin_create_user(
                email=form.email.data, name=form.name.data, role=form.role.data, unit_id=_unit_id(form),
                phone=form.phone.data, capacity=form.capacity.data, skill_codes=form.skills.data or [],
                password=form.password.data, actor=actor(), now=utcnow())
        except AdminError as error:
            _field_error(form, error)
        else:
            return _password_page(user, password, created=True)
    return render_template("admin/user_form.html", form=form, user=None), 422 if form.errors else 200


def _password_page(user: StaffUser, password: str, created: bool):
    """The password is shown once, in this answer only (never in a flash message or a URL)."""
    response = current_app.make_response(render_template("admin/password_shown.html", user=user, password=password,
                                                         created=created))
    response.headers["Cache-Control"] = "no-store"
    return response


def _user_or_404(user_id: int) -> StaffUser:
    return db.session.get(StaffUser, user_id) or abort(404)


@bp.route("/utilisateurs/<int:user_id>", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    form = UserForm(obj=user if request.method == "GET" else None)
    _prepare_user_form(form)
    if request.method == "GET":
        form.unit_id.data = str(user.unit_id) if user.unit_id else ""
        form.skills.data = [t.code for t in user.skills]
    if form.validate_on_submit():
        try:
            changes = admin_service.update_user(user.id, name=form.name.data, role=form.role.data,
                                                unit_id=_unit_id(form), phone=form.phone.data,
                                                capacity=form.capacity.data, skill_codes=form.skills.data or [],
                                                actor=actor(), now=utcnow())
        except AdminError as error:
            _field_error(form, error)
        else:
            flash(_("Compte mis à jour.") if changes else _("Aucune modification."), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=user, password_form=PasswordResetForm(),
                           action_form=ActionForm()), 422 if form.errors else 200


@bp.post("/utilisateurs/<int:user_id>/desactiver")
@roles_required(ADMINISTERS)
def user_deactivate(user_id: int):
    return _set_active(user_id, False)


@bp.post("/utilisateurs/<int:user_id>/reactiver")
@roles_required(ADMINISTERS)
def user_reactivate(user_id: int):
    return _set_active(user_id, True)


def _set_active(user_id: int, active: bool):
    user = _user_or_404(user_id)
    check_action_form()
    try:
        admin_service.set_account_active(user.id, active, actor=actor(), now=utcnow())
    except AdminError as error:
        flash(error.message, "error")
    else:
        flash(_("Compte réactivé.") if active else
              _("Compte désactivé : ses sessions sont fermées et ses appels non composés sont remis en file."),
              "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/utilisateurs/<int:user_id>/mot-de-passe")
@roles_required(ADMINISTERS)
def user_password(user_id: int):
    user = _user_or_404(user_id)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            password = admin_service.reset_password(user.id, form.password.data, actor=actor(), now=utcnow())
        except AdminError as error:
            _field_error(form, error)
        else:
            return _password_page(user, password, created=False)
    edit_form = UserForm(formdata=None, obj=user)
    _prepare_user_form(edit_form)
    edit_form.unit_id.data = str(user.unit_id) if user.unit_id else ""
    edit_form.skills.data = [t.code for t in user.skills]
    return render_template("admin/user_form.html", form=edit_form, user=user, password_form=form,
                           action_form=ActionForm()), 422


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
    rows = [(unit, admin_service.unit_seniors(unit.id), hours_summary(unit)) for unit in _units()]
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
    members = db.session.scalars(select(StaffUser).where(
        StaffUser.unit_id == unit.id, StaffUser.role.in_(TAKES_CALLS),
        StaffUser.is_active_account.is_(True)).order_by(StaffUser.name)).all()
    if senior_form is None:
        senior_form = SeniorForm(formdata=None)
    senior_form.user_id.choices = choices([("", _("— Choisissez —"))] + [
        (str(m.id), m.name + (" " + _("(senior)") if m.role == "senior" else "")) for m in members])
    unit_choices = choices((str(u.id), u.name) for u in _units())
    move_forms = {}
    for departement in unit.departements:
        move_form = DepartementMoveForm(formdata=None, code=departement.code, unit_id=str(unit.id))
        move_form.unit_id.choices = unit_choices
        move_forms[departement.code] = move_form
    return render_template("admin/unit.html", unit=unit, name_form=name_form, hours_form=hours_form,
                           senior_form=senior_form, move_forms=move_forms,
                           seniors=admin_service.unit_seniors(unit.id),
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
            _field_error(form, error)
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
            _field_error(form, error)
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
            _field_error(form, error if isinstance(error, AdminError) else AdminError(_("Choix invalide."), "user_id"))
        else:
            flash(_("Senior de l'unité mis à jour."), "success")
            return redirect(url_for("admin.unit_edit", unit_id=unit.id))
    return _unit_page(unit, senior_form=form, status=422)


@bp.post("/departements/<code>/unite")
@roles_required(ADMINISTERS)
def departement_move(code: str):
    departement = db.session.get(Departement, code) or abort(404)
    form = DepartementMoveForm()
    form.unit_id.choices = choices((str(u.id), u.name) for u in _units())
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
    topics = _topics()
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
            _field_error(form, error)
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


# --- closed days and public holidays -----------------------------------------------------------------

def _closed_days_page(form=None, status=200):
    if form is None:
        form = ClosedDayForm(formdata=None)
    form.unit_id.choices = choices([("", _("Toute la chambre"))] + [(str(u.id), u.name) for u in _units()])
    days = db.session.scalars(select(ClosedDay).where(ClosedDay.day >= _today() - timedelta(days=7))
                              .order_by(ClosedDay.day, ClosedDay.unit_id)).all()
    return render_template("admin/closed_days.html", form=form, days=days, action_form=ActionForm(),
                           business_clock=settings.get("SLA_CLOCK") == "business"), status


@bp.route("/jours-fermes", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def closed_days():
    if request.method == "GET":
        return _closed_days_page()
    form = ClosedDayForm()
    form.unit_id.choices = choices([("", "")] + [(str(u.id), u.name) for u in _units()])
    if form.validate_on_submit():
        try:
            change = add_closed_day(form.day.data, int(form.unit_id.data) if form.unit_id.data else None,
                                    form.reason.data, actor=actor(), now=utcnow())
        except ClosedDayError as error:
            form.reason.errors = [error.message]
        else:
            if change.changed:
                flash(_("Jour fermé ajouté ; %(n)d demande(s) en attente ont une nouvelle échéance.",
                        n=change.moved), "success")
            else:
                flash(_("Ce jour était déjà fermé."), "success")
            return redirect(url_for("admin.closed_days"))
    return _closed_days_page(form, status=422)


@bp.post("/jours-fermes/<int:closed_day_id>/supprimer")
@roles_required(ADMINISTERS)
def closed_day_remove(closed_day_id: int):
    closed = db.session.get(ClosedDay, closed_day_id) or abort(404)
    check_action_form()
    change = remove_closed_day(closed.day, closed.unit_id, actor=actor(), now=utcnow())
    flash(_("Jour rouvert ; %(n)d demande(s) en attente ont une nouvelle échéance.", n=change.moved), "success")
    return redirect(url_for("admin.closed_days"))


# Where the extra public holidays come from, for the page.
SUBDIVISION_LABELS = {
    "57": _l("la Moselle"),
    "6AE": _l("l'Alsace"),
    "971": _l("la Guadeloupe"), "972": _l("la Martinique"), "973": _l("la Guyane"), "974": _l("La Réunion"),
    "PM": _l("Saint-Pierre-et-Miquelon"), "976": _l("Mayotte"),
}


@bp.get("/jours-feries")
@roles_required(ADMINISTERS)
def public_holidays_view():
    """The public holidays of the coming year: the national ones once, then for each unit the
    départements with more (Alsace, Moselle, overseas) and their extra days."""
    today = _today()
    horizon = today + timedelta(days=365)
    years = (today.year, today.year + 1)

    def days_of(departement: str | None, subdiv: str | None, besides: frozenset = frozenset()):
        names = holidays_lib.country_holidays("FR", subdiv=subdiv, years=list(years), language="fr")
        days = sorted(d for year in years for d in public_holidays(departement, year)
                      if today <= d <= horizon and d not in besides)
        return [(format_date(d, "EEEE d MMMM y"), names.get(d, "")) for d in days]

    national = frozenset(d for year in years for d in public_holidays(None, year))
    groups_by_unit = []
    for unit in _units():
        groups: dict[str, list[str]] = {}
        for departement in unit.departements:
            subdiv = HOLIDAY_SUBDIVISIONS.get(departement.code)
            if subdiv:
                groups.setdefault(subdiv, []).append(departement.code)
        rows = [{"label": SUBDIVISION_LABELS.get(subdiv, subdiv), "departements": codes,
                 "days": days_of(codes[0], subdiv, national)} for subdiv, codes in groups.items()]
        groups_by_unit.append((unit, rows))
    return render_template("admin/holidays.html", national=days_of(None, None), groups_by_unit=groups_by_unit,
                           business_clock=settings.get("SLA_CLOCK") == "business")


# --- SLA and escalation settings, crisis switches ----------------------------------------------------

def _settings_form(form_class, keys, form=None):
    if form is None:
        form = form_class(formdata=None)
        for key in keys:
            form[key].data = settings.raw(key)
    return form


def _display(value):
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return value


def _clean(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _save_settings(form, keys) -> bool:
    """Every bad value gets its message (form checks and the settings' own rules), and nothing is
    written unless all are good."""
    valid = form.validate_on_submit()
    try:
        settings.validate({key: _clean(form[key].data) for key in keys if not form[key].errors})
    except settings.SettingsError as error:
        for key, message in error.errors.items():
            form[key].errors = list(form[key].errors) + [message]
        valid = False
    if not valid:
        return False
    changed = settings.update({key: _clean(form[key].data) for key in keys}, actor(), utcnow())
    flash(_("%(n)d réglage(s) modifié(s).", n=len(changed)) if changed else _("Aucune modification."), "success")
    return True


@bp.route("/delais", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def sla_settings():
    form = SlaSettingsForm() if request.method == "POST" else None
    if form is not None and _save_settings(form, SLA_KEYS):
        return redirect(url_for("admin.sla_settings"))
    form = _settings_form(SlaSettingsForm, SLA_KEYS, form)
    defaults = {key: _display(settings.raw_config(key)) for key in SLA_KEYS}
    overridden = {key for key in SLA_KEYS if settings.is_overridden(key)}
    return render_template("admin/sla_settings.html", form=form, defaults=defaults, overridden=overridden,
                           clock_labels=CLOCK_LABELS, met_on_labels=MET_ON_LABELS), 422 if form.errors else 200


@bp.route("/crise", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def crisis():
    form = CrisisForm() if request.method == "POST" else None
    if form is not None and _save_settings(form, CRISIS_KEYS):
        return redirect(url_for("admin.crisis"))
    form = _settings_form(CrisisForm, CRISIS_KEYS, form)
    return render_template("admin/crisis.html", form=form, crisis=settings.intake_state()), \
        422 if form.errors else 200


# --- the journal ---------------------------------------------------------------------------------------

@bp.get("/journal")
@roles_required(ADMINISTERS)
def journal():
    page = max(request.args.get("page", 1, type=int), 1)
    # Admin changes, and the CSV exports (who took which data out, with or without personal data).
    query = select(AuditEvent).where(or_(AuditEvent.action.like("admin.%"), AuditEvent.action.like("export.%")))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = db.session.scalars(query.order_by(AuditEvent.id.desc())
                                .offset((page - 1) * JOURNAL_PAGE_SIZE).limit(JOURNAL_PAGE_SIZE)).all()
    ids = {e.actor.staff_user_id for e in events if e.actor.staff_user_id}
    ids |= {e.staff_user_id for e in events if e.staff_user_id}
    people = {u.id: u for u in db.session.scalars(select(StaffUser).where(StaffUser.id.in_(ids)))} if ids else {}
    return render_template("admin/journal.html", events=events, people=people, page=page,
                           pages=max(1, -(-total // JOURNAL_PAGE_SIZE)), total=total, field_labels=FIELD_LABELS,
                           action_labels=ACTION_LABELS)


# What each audited admin action is called in the journal.
ACTION_LABELS = {
    "admin.settings_updated": _l("Réglage modifié"), "admin.user_created": _l("Compte créé"),
    "admin.user_updated": _l("Compte modifié"), "admin.user_deactivated": _l("Compte désactivé"),
    "admin.user_activated": _l("Compte réactivé"), "admin.password_reset": _l("Mot de passe réinitialisé"),
    "admin.unit_updated": _l("Unité modifiée"), "admin.departement_moved": _l("Département changé d'unité"),
    "admin.topic_created": _l("Sujet créé"), "admin.topic_updated": _l("Sujet modifié"),
    "admin.closed_day_added": _l("Jour fermé ajouté"), "admin.closed_day_removed": _l("Jour fermé retiré"),
    "export.requests": _l("Export CSV des demandes"), "export.report_unites": _l("Export CSV du rapport par unité"),
    "export.report_conseillers": _l("Export CSV du rapport par conseiller"),
}


# French names of the audited fields (the raw key is shown for any other).
FIELD_LABELS = {
    "name": _l("nom"), "role": _l("rôle"), "unit": _l("unité"), "phone": _l("téléphone"), "capacity": _l("capacité"),
    "skills": _l("sujets"), "active": _l("actif"), "password": _l("mot de passe"), "account": _l("compte"),
    "email": _l("e-mail"), "opening_hours": _l("horaires"), "label": _l("libellé"), "order": _l("ordre"),
    "topic": _l("sujet"), "code": _l("code"), "agents": _l("agents"), "closed_day": _l("jour fermé"),
    "day": _l("jour"), "reason": _l("motif"),
    "SLA_HOURS": _l("délai de rappel (h)"), "SLA_CLOCK": _l("décompte du délai"), "SLA_MET_ON": _l("délai tenu"),
    "ESCALATION_LEVELS": _l("niveaux d'escalade"), "ESCALATION_REPEAT_HOURS": _l("relance après dépassement (h)"),
    "OFFER_TIMEOUT_SECONDS": _l("durée d'une proposition (s)"), "RETRY_GAP_MINUTES": _l("délai entre essais (min)"),
    "MAX_ATTEMPTS": _l("essais au plus"), "INTAKE_URGENT_ONLY": _l("urgences seulement"),
    "PUBLIC_BANNER": _l("message public"), "INTAKE_PAUSED": _l("demandes suspendues"),
    "INTAKE_PAUSED_MESSAGE": _l("message de suspension"), "CHAMBER_PHONE": _l("téléphone de la chambre"),
    **{str(day): label for day, label in enumerate(WEEKDAY_LABELS)},
}
