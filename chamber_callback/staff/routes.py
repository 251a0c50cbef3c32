"""Staff pages: login, the agent console, the team queue."""
from __future__ import annotations

import hashlib
from datetime import UTC
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..auth import end_browser_session, open_session, roles_required
from ..clock import utcnow
from ..domain.attempts import AUTOMATIC_NOTE_PREFIX, ReportError
from ..domain.campaigns import CampaignError
from ..domain.intake import N_
from ..domain.reference import keyed_digest
from ..domain.roles import ALL_ROLES, SUPERVISES, TAKES_CALLS, locked_to_own_unit
from ..domain.routing import Availability
from ..extensions import db, limiter
from ..labels import AVAILABILITY_LABELS, outcome_labels
from ..models import CallAttempt, CallbackRequest, RegionalUnit, StaffUser
from ..presenters import (
    artisan_history,
    held_requests,
    may_view,
    my_day,
    open_attempt,
    pending_offer,
    sla_level,
    timeline,
)
from ..services import assignment, campaigns, push, team, two_factor
from ..services import notifications as notifications_service
from ..services.audit import record_read
from ..services.calls import CallNotPlaced, place_call
from ..services.staff import AccountError, authenticate, change_password, end_sessions
from ..telephony import get_telephony
from ..web import client_address, int_arg
from . import bp
from .forms import ActionForm, AvailabilityForm, CodeForm, LoginForm, OutcomeForm, PasswordForm, check_action_form

# Who may turn a campaign's contact into a callback request: whoever calls or supervises.
CONVERTS_CONTACTS = TAKES_CALLS | SUPERVISES


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _account_key(email: str | None) -> str:
    """An account, named by a digest of its e-mail: limiter keys reach logs, e-mails must not."""
    return keyed_digest((email or "").strip().lower(), current_app.config["SECRET_KEY"])


def _login_key() -> str:
    """Per account *and* client: guessing from one place is throttled, but a stranger's wrong
    passwords do not lock the owner out of their own place (the per-IP limit still applies)."""
    return f"login:{_account_key(request.form.get('email'))}:{client_address()}"


def _login_account_key() -> str:
    """Per account from anywhere: a generous ceiling against guessing from many addresses."""
    return f"login:{_account_key(request.form.get('email'))}"


def _login_account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def _password_key() -> str:
    return f"password:{current_user.id}:{client_address()}" if current_user.is_authenticated else "password:-"


def _failed(response) -> bool:
    return response.status_code in (401, 422)


def home_for(user) -> str:
    if user.role in TAKES_CALLS:
        return url_for("staff.console")
    if user.role in SUPERVISES:
        return url_for("manager.dashboard")
    return url_for("admin.data_home")  # the data protection officer


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=client_address, deduct_when=_failed)  # per client
@limiter.limit(_login_account_limit, methods=["POST"], key_func=_login_account_key, deduct_when=_failed)
@limiter.limit(_login_limit, methods=["POST"], key_func=_login_key, deduct_when=_failed)  # per account and client
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None and two_factor.required_for(user):
            # The password was right; the session opens once the second factor is given too.
            session.pop(PENDING_SECRET, None)  # an enrolment left half-way by someone else on this browser
            session[PENDING] = {"user": user.id, "version": user.session_version, "at": utcnow().timestamp()}
            return redirect(url_for("staff.sign_in_code" if two_factor.enrolled(user) else "staff.sign_in_enrol"))
        if user is not None:
            open_session(user)
            return redirect(home_for(user))
        flash(_("Adresse e-mail ou mot de passe incorrect."), "error")
        return render_template("staff/login.html", form=form), 401
    return render_template("staff/login.html", form=form)


# --- the second factor -------------------------------------------------------------------------

PENDING, PENDING_SECRET = "cc_pending_sign_in", "cc_pending_secret"
PENDING_FOR_S = 300  # the code must follow the password within five minutes


def _pending_user() -> StaffUser | None:
    """The account whose password was just given on this browser, if still in time."""
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or utcnow().timestamp() - pending.get("at", 0) > PENDING_FOR_S:
        return None
    user = db.session.get(StaffUser, pending.get("user") or 0)
    if user is None or not user.is_active or user.session_version != pending.get("version"):
        return None
    return user


def _pending_account() -> str:
    pending = session.get(PENDING)
    return str(pending.get("user")) if isinstance(pending, dict) else "-"


def _pending_key() -> str:
    return f"second-factor:{_pending_account()}:{client_address()}"


def _pending_account_key() -> str:
    """Per account, from anywhere: whoever has the password cannot guess codes from many places."""
    return f"second-factor:{_pending_account()}"


def _second_factor_limit() -> str:
    return current_app.config["SECOND_FACTOR_ACCOUNT_LIMIT"]


def _finish_sign_in(user: StaffUser):
    session.pop(PENDING, None)
    session.pop(PENDING_SECRET, None)
    open_session(user)
    return redirect(home_for(user))


@bp.route("/connexion/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_pending_key, deduct_when=_failed)
@limiter.limit(_second_factor_limit, methods=["POST"], key_func=_pending_account_key, deduct_when=_failed)
def sign_in_code():
    user = _pending_user()
    if user is None or not two_factor.enrolled(user):
        flash(_("Recommencez la connexion : le délai pour saisir le code est dépassé."), "error")
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.verify(user.id, form.code.data, utcnow()):
            return _finish_sign_in(user)
        two_factor.record_failure(user.id, utcnow())
        form.code.errors.append(_("Code incorrect ou déjà utilisé : saisissez le code affiché maintenant."))
    return render_template("staff/sign_in_code.html", form=form), 422 if form.errors else 200


@bp.route("/connexion/activation", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_pending_key, deduct_when=_failed)
@limiter.limit(_second_factor_limit, methods=["POST"], key_func=_pending_account_key, deduct_when=_failed)
def sign_in_enrol():
    """First sign-in of a role that needs a second factor: scan the QR code, type the first code."""
    user = _pending_user()
    if user is None:
        flash(_("Recommencez la connexion : le délai est dépassé."), "error")
        return redirect(url_for("staff.login"))
    if two_factor.enrolled(user):
        return redirect(url_for("staff.sign_in_code"))
    kept = session.get(PENDING_SECRET)
    secret = kept["secret"] if isinstance(kept, dict) and kept.get("user") == user.id else two_factor.new_secret()
    session[PENDING_SECRET] = {"user": user.id, "secret": secret}
    form = CodeForm()
    if form.validate_on_submit():
        codes = two_factor.enrol(user.id, secret, form.code.data, utcnow())
        if codes is not None:
            _finish_sign_in(user)
            response = current_app.make_response(render_template("staff/recovery_codes.html", codes=codes,
                                                                 next_url=home_for(user)))
            response.headers["Cache-Control"] = "no-store"
            return response
        form.code.errors.append(_("Ce code ne correspond pas : vérifiez l'heure du téléphone et réessayez."))
    uri = two_factor.provisioning_uri(user, secret)
    response = current_app.make_response((render_template(
        "staff/sign_in_enrol.html", form=form, qr=two_factor.qr_code(uri), secret=secret),
        422 if form.errors else 200))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/deconnexion")
@roles_required(ALL_ROLES)
def logout():
    if current_user.role in TAKES_CALLS and current_user.availability != Availability.OFFLINE.value:
        assignment.set_availability(current_user, Availability.OFFLINE, utcnow())
    end_sessions(current_user, utcnow())  # this cookie, replayed, opens nothing any more
    end_browser_session()
    flash(_("Vous êtes déconnecté."), "success")
    return redirect(url_for("staff.login"))


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"])
@roles_required(ALL_ROLES)
@limiter.limit(_login_limit, methods=["POST"], key_func=_password_key, deduct_when=_failed)
def password():
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_password(user, form.current.data, form.new.data, utcnow())
        except AccountError as error:
            (form.current if error.field == "current" else form.new).errors.append(str(error))
        else:
            open_session(user)  # this session follows the new session version
            flash(_("Mot de passe modifié. Vos autres sessions sont fermées."), "success")
            return redirect(home_for(user))
    return render_template("staff/password.html", form=form), 422 if form.errors else 200


# --- the console ---------------------------------------------------------------------------

def panel_context(agent: StaffUser) -> dict:
    now = utcnow()
    offer = pending_offer(agent)
    calls = [(held, open_attempt(held), artisan_history(held, agent)) for held in held_requests(agent)]
    version_source = "|".join([agent.availability, str(offer.id if offer else ""),
                               ",".join(f"{c.id}:{a.id if a else ''}:{c.status}:{a.agent_status if a else ''}:"
                                        f"{a.artisan_status if a else ''}" for c, a, _h in calls)])
    return {
        "agent": agent,
        "now": now,
        "offer": offer,
        "calls": calls,
        "today": my_day(agent, now),
        "availability_form": AvailabilityForm(state=agent.availability),
        "action_form": ActionForm(),
        "outcome_form": OutcomeForm(),
        "availability_labels": AVAILABILITY_LABELS,
        "outcome_labels": outcome_labels(),
        "sla_level": sla_level,
        "version": hashlib.sha256(version_source.encode()).hexdigest()[:16],
        "poll_seconds": current_app.config["CONSOLE_POLL_SECONDS"],
        "bridges": get_telephony().capabilities.bridge,
        "automatic_prefix": AUTOMATIC_NOTE_PREFIX,
    }


@bp.get("/console")
@roles_required(TAKES_CALLS)
def console():
    return render_template("staff/console.html", push_public_key=push.public_key(), **panel_context(current_user))


@bp.get("/console/panneau")
@roles_required(TAKES_CALLS)
def console_panel():
    """Polled by the console: 204 while nothing changed, else the new panel."""
    context = panel_context(current_user)
    if request.args.get("v") == context["version"]:
        return "", 204
    response = current_app.make_response(render_template("staff/_panel.html", **context))
    response.headers["X-Panel-Version"] = context["version"]
    response.headers["Cache-Control"] = "no-store"
    return response


def _back():
    return redirect(url_for("staff.console"))


@bp.post("/console/disponibilite")
@roles_required(TAKES_CALLS)
def set_availability():
    form = AvailabilityForm()
    if not form.validate_on_submit():
        flash(_("État inconnu."), "error")
        return _back()
    assignment.set_availability(current_user, Availability(form.state.data), utcnow())
    return _back()


@bp.post("/console/offres/<int:offer_id>/accepter")
@roles_required(TAKES_CALLS)
def accept_offer(offer_id: int):
    check_action_form()
    try:
        accepted = assignment.accept_offer(offer_id, current_user, utcnow())
        flash(_("Appel %(reference)s accepté : appelez l'artisan.", reference=accepted.reference), "success")
    except assignment.AssignmentConflict as error:
        flash(_(error.message), "error")
    return _back()


@bp.post("/console/offres/<int:offer_id>/refuser")
@roles_required(TAKES_CALLS)
def decline_offer(offer_id: int):
    check_action_form()
    try:
        assignment.decline_offer(offer_id, current_user, utcnow())
        flash(_("Proposition refusée : elle passe à un autre conseiller."), "success")
    except assignment.AssignmentConflict as error:
        flash(_(error.message), "error")
    return _back()


@bp.post("/console/suivant")
@roles_required(TAKES_CALLS)
def pull_next():
    check_action_form()
    try:
        taken = assignment.claim_next(current_user, utcnow())
    except assignment.AssignmentConflict as error:
        flash(_(error.message), "error")
        return _back()
    if taken is None:
        flash(_("Aucune demande en attente pour vous pour le moment."), "success")
    else:
        flash(_("Appel %(reference)s pris : appelez l'artisan.", reference=taken.reference), "success")
    return _back()


@bp.post("/console/demandes/<ref:reference>/appel")
@roles_required(TAKES_CALLS)
def start_attempt(reference: str):
    check_action_form()
    try:
        place_call(reference, current_user, utcnow())
    except CallNotPlaced as error:
        flash(_(str(error)), "error")
    except (assignment.AssignmentConflict, LookupError) as error:
        flash(_(getattr(error, "message", N_("Demande introuvable."))), "error")
    return _back()


@bp.post("/console/demandes/<ref:reference>/rendre")
@roles_required(TAKES_CALLS)
def release(reference: str):
    check_action_form()
    try:
        assignment.release_request(reference, current_user, utcnow(), reason="given back by the agent")
        flash(_("Demande %(reference)s remise dans la file.", reference=reference), "success")
    except (assignment.AssignmentConflict, LookupError) as error:
        flash(_(getattr(error, "message", N_("Demande introuvable."))), "error")
    return _back()


def _report_outcome(close, attempt_id: int, done: str, **extra):
    """Record or correct an outcome from the console form; the service checks the report
    (``domain.attempts.check_report``, the same schema as the staff API)."""
    form = OutcomeForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return _back()
    follow_up_at = None
    if form.follow_up_at.data:
        tz = ZoneInfo(current_app.config["TIMEZONE"])
        follow_up_at = form.follow_up_at.data.replace(tzinfo=tz).astimezone(UTC)
    try:
        updated = close(attempt_id, current_user, form.outcome.data, utcnow(), note=form.note.data,
                        follow_up_at=follow_up_at, **extra)
    except (ReportError, CampaignError) as error:
        for message in error.errors.values():
            flash(_(message), "error")
        return _back()
    except (assignment.AssignmentConflict, LookupError) as error:
        flash(_(getattr(error, "message", N_("Appel introuvable."))), "error")
        return _back()
    flash(_(done, reference=updated.reference), "success")
    if request.form.get("convert") == "1" and updated.campaign_id is not None:
        _convert(updated)
    return _back()


@bp.post("/console/appels/<int:attempt_id>/resultat")
@roles_required(TAKES_CALLS)
def record_outcome(attempt_id: int):
    answers = {key.removeprefix("answer_"): value for key, value in request.form.items() if key.startswith("answer_")}
    return _report_outcome(assignment.record_outcome, attempt_id, N_("Résultat enregistré pour %(reference)s."),
                           answers=answers, do_not_call=request.form.get("do_not_call") == "1")


def _convert(contact: CallbackRequest) -> None:
    try:
        made = campaigns.convert(contact.id, user=current_user, now=utcnow())
    except campaigns.AlreadyRequested as error:
        flash(_("Une demande de rappel est déjà en cours pour cet artisan : %(reference)s.",
                reference=error.reference), "error")
    except CampaignError as error:
        for message in error.errors.values():
            flash(_(message), "error")
    else:
        flash(_("Demande de rappel %(reference)s créée : elle entre dans la file avec l'historique de la campagne.",
                reference=made.reference), "success")


@bp.post("/console/demandes/<ref:reference>/demande-de-rappel")
@roles_required(CONVERTS_CONTACTS)
def convert_contact(reference: str):
    """A campaign's contact reached with a real need becomes a callback request (one click)."""
    check_action_form()
    found = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
    if found is None or found.campaign_id is None or not may_view(current_user, found):
        abort(404)
    _convert(found)
    return redirect(url_for("staff.request_card", reference=reference))


@bp.post("/console/appels/<int:attempt_id>/correction")
@roles_required(TAKES_CALLS)
def correct_outcome(attempt_id: int):
    return _report_outcome(assignment.correct_outcome, attempt_id, N_("Résultat corrigé pour %(reference)s."))


@bp.get("/console/demandes/<ref:reference>")
@roles_required(ALL_ROLES)
def request_card(reference: str):
    found = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
    if found is None or not may_view(current_user, found):
        abort(404)
    record_read(user_id=current_user.id, request_id=found.id, now=utcnow())  # who saw whose data, and when
    return render_template("staff/request.html", request=found, events=timeline(found),
                           history=artisan_history(found, current_user), sla_level=sla_level, now=utcnow(),
                           outcome_labels=outcome_labels(), action_form=ActionForm(),
                           may_convert=found.campaign_id is not None and current_user.role in CONVERTS_CONTACTS)


@bp.get("/console/historique")
@roles_required(TAKES_CALLS)
def history():
    attempts = db.session.scalars(select(CallAttempt).where(CallAttempt.agent_id == current_user.id)
                                  .order_by(CallAttempt.id.desc()).limit(200)).all()
    return render_template("staff/history.html", attempts=attempts,
                           outcome_labels=outcome_labels())


# --- the team queue --------------------------------------------------------------------------

@bp.get("/equipe")
@roles_required(SUPERVISES)
def team_queue():
    """Waiting and in-progress requests with their deadlines, and who is available."""
    units = db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.id)).all()
    unit_id = current_user.unit_id if locked_to_own_unit(current_user.role) else int_arg(request.args, "unite")
    return render_template("staff/queue.html", queue=team.team_queue(unit_id, utcnow()), units=units,
                           unit_id=unit_id, now=utcnow(), sla_level=sla_level,
                           availability_labels=AVAILABILITY_LABELS)


# --- notifications ----------------------------------------------------------------------------

@bp.app_context_processor
def unread_notifications():
    """The unread count shown in the staff navigation."""
    if not current_user.is_authenticated:
        return {}
    return {"unread_count": notifications_service.unread_count(current_user.id)}


@bp.get("/notifications")
@roles_required(ALL_ROLES)
def notifications():
    return render_template("staff/notifications.html", notifications=notifications_service.latest(current_user.id),
                           action_form=ActionForm())


@bp.post("/notifications/lues")
@roles_required(ALL_ROLES)
def notifications_read():
    check_action_form()
    notifications_service.mark_all_read(current_user.id, utcnow())
    return redirect(url_for("staff.notifications"))
