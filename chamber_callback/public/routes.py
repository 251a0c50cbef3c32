"""Public pages: the callback form, the confirmation, the private status page."""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..clock import utcnow
from ..domain.actors import ARTISAN
from ..domain.intake import mask_phone
from ..domain.lifecycle import can_cancel
from ..extensions import limiter
from ..services import settings
from ..services.data_rights import erase_closed_request
from ..services.intake import cancel_request, find_by_token, holds_link, queue_position, submit_request
from . import bp
from .forms import CancelForm, IntakeForm

log = logging.getLogger(__name__)



def intake_limit() -> str:
    return current_app.config["RATELIMIT_INTAKE"]


def _accepted(response) -> bool:
    return response.status_code in (200, 201, 302)


def intake_rate_limit(view):
    """Per client IP, form and API together: RATELIMIT_INTAKE counts accepted submissions
    (so typos do not lock a stressed artisan out), a looser limit counts every attempt."""
    view = limiter.shared_limit(intake_limit, scope="intake", methods=["POST"], deduct_when=_accepted)(view)
    return limiter.shared_limit(lambda: current_app.config["RATELIMIT_INTAKE_ATTEMPTS"], scope="intake-attempts",
                                methods=["POST"])(view)


@bp.route("/", methods=["GET", "POST"])
@intake_rate_limit
def request_form():
    crisis = settings.intake_state()
    if crisis.paused:
        # Nothing is read or stored: the artisan is told to call the chamber instead.
        refused = request.method == "POST"
        return render_template("public/paused.html", crisis=crisis, refused=refused), 503 if refused else 200
    form = IntakeForm()
    if form.is_submitted() and form.is_bot:
        # Looks like success to the bot; nothing is stored.
        log.info("honeypot filled: submission discarded")
        return render_template("public/received.html")
    if form.validate_on_submit():
        now = utcnow()
        intake = form.build_intake(now=now, tz=ZoneInfo(current_app.config["TIMEZONE"]), channel="web")
        own_token = session.get("last_request_token")
        submission = submit_request(intake, actor=ARTISAN, now=now, sla_hours=settings.get("SLA_HOURS"),
                                    requester_token=own_token)
        if submission.created:
            # Kept in this browser's session so a double tap or a retry finds its link again.
            session["last_request_token"] = submission.token
            return redirect(url_for("public.confirmation", token=submission.token))
        if holds_link(submission.request, own_token):
            return redirect(url_for("public.confirmation", token=own_token))
        return render_template("public/duplicate.html", reminded=submission.reminded)
    status = 422 if form.is_submitted() else 200
    return render_template("public/form.html", form=form,
                           retention_months=retention_months()), status


@bp.get("/demande/<token>/confirmation")
def confirmation(token: str):
    callback = find_by_token(token) or abort(404)
    return render_template("public/confirmation.html", request=callback,
                           status_url=status_url(token), phone_masked=mask_phone(callback.phone))


@bp.get("/suivi/<token>")
def status(token: str):
    callback = find_by_token(token) or abort(404)
    return render_template("public/status.html", request=callback, token=token, form=CancelForm(),
                           can_cancel=can_cancel(callback.status), position=queue_position(callback),
                           phone_masked=mask_phone(callback.phone) if callback.purged_at is None else None,
                           retention_months=retention_months())


@bp.post("/suivi/<token>/annuler")
def status_cancel(token: str):
    callback = find_by_token(token) or abort(404)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    if cancel_request(callback, actor=ARTISAN, now=utcnow(), reason="cancelled by the artisan (status page)"):
        flash(_("Votre demande est annulée. Vous pouvez en faire une nouvelle à tout moment."), "success")
    else:
        flash(_("Cette demande ne peut plus être annulée."), "error")
    return redirect(url_for("public.status", token=token))


@bp.post("/suivi/<token>/effacer")
def status_erase(token: str):
    """The artisan erases a closed request's personal data (RGPD art. 17)."""
    callback = find_by_token(token) or abort(404)
    if not CancelForm().validate_on_submit():
        abort(400)
    if erase_closed_request(callback, ARTISAN, utcnow()):
        flash(_("Vos données sont effacées."), "success")
    else:
        flash(_("Une demande en cours ne peut pas être effacée : annulez-la d'abord."), "error")
    return redirect(url_for("public.status", token=token))


def retention_months() -> int:
    return round(current_app.config["RETENTION_DAYS"] / 30.4)


def status_url(token: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"]
    if base:
        return base + url_for("public.status", token=token)
    return url_for("public.status", token=token, _external=True)
