"""Staff accounts: list, create, edit, deactivate, reset a password."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import ADMINISTERS, ALL_ROLES
from ..extensions import db
from ..labels import ROLE_LABELS
from ..models import StaffUser
from ..services import admin as admin_service
from ..services import directory, two_factor
from ..services.admin import AdminError
from ..staff.forms import ActionForm, check_action_form
from ..web import int_arg
from . import bp
from .common import actor, field_error
from .forms import NewUserForm, PasswordResetForm, UserForm, choices

# --- users -------------------------------------------------------------------------------------------

@bp.get("/utilisateurs")
@roles_required(ADMINISTERS)
def users():
    unit_id = int_arg(request.args, "unite")
    role = request.args.get("role") if request.args.get("role") in ALL_ROLES else None
    return render_template("admin/users.html", users=directory.staff(unit_id, role), units=directory.units(),
                           unit_id=unit_id, role=role, role_labels=ROLE_LABELS)


def _prepare_user_form(form: UserForm) -> None:
    form.unit_id.choices = choices([("", _("— Aucune (manager, administrateur) —"))]
                                   + [(str(u.id), u.name) for u in directory.units()])
    form.skills.choices = choices((t.code, t.label + ("" if t.active else " " + _("(inactif)")))
                                  for t in directory.topics())


def _unit_id(form) -> int | None:
    return int(form.unit_id.data) if form.unit_id.data else None


@bp.route("/utilisateurs/nouveau", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def user_new():
    form = NewUserForm()
    _prepare_user_form(form)
    if request.method == "GET":
        form.skills.data = [t.code for t in directory.topics(active_only=True)]
    if form.validate_on_submit():
        try:
            user, password = admin_service.admin_create_user(
                email=form.email.data, name=form.name.data, role=form.role.data, unit_id=_unit_id(form),
                phone=form.phone.data, capacity=form.capacity.data, skill_codes=form.skills.data or [],
                password=form.password.data, actor=actor(), now=utcnow())
        except AdminError as error:
            field_error(form, error)
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
            field_error(form, error)
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
            field_error(form, error)
        else:
            return _password_page(user, password, created=False)
    edit_form = UserForm(formdata=None, obj=user)
    _prepare_user_form(edit_form)
    edit_form.unit_id.data = str(user.unit_id) if user.unit_id else ""
    edit_form.skills.data = [t.code for t in user.skills]
    return render_template("admin/user_form.html", form=edit_form, user=user, password_form=form,
                           action_form=ActionForm()), 422


@bp.post("/utilisateurs/<int:user_id>/double-authentification")
@roles_required(ADMINISTERS)
def user_two_factor_reset(user_id: int):
    user = _user_or_404(user_id)
    check_action_form()
    try:
        admin_service.check_may_manage(actor(), user.role)
    except AdminError as error:
        flash(error.message, "error")
        return redirect(url_for("admin.user_edit", user_id=user.id))
    two_factor.reset(user.id, actor=actor(), now=utcnow())
    flash(_("Double authentification réinitialisée : le compte la réactivera à sa prochaine connexion."), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))
