"""Public pages: the callback form, the confirmation, the private status page, and ``/widget.js``
(the partner sites' « Être rappelé » button, which shows these pages embedded: ``embedding.py``)."""
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
from .embedding import current_partner, embeddable, form_meta
from .forms import CancelForm, IntakeForm
from .language import widget_script

log = logging.getLogger(__name__)

# Partners paste one fixed address: a changed script reaches them within the hour (ETag: a
# revalidation costs a 304).
WIDGET_MAX_AGE = 3600


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
@embeddable
def request_form():
    crisis = settings.intake_state()
    if crisis.paused:
        # Nothing is read or stored: the artisan is told to call the chamber instead.
        refused = request.method == "POST"
        return render_template("public/paused.html", crisis=crisis, refused=refused), 503 if refused else 200
    form = IntakeForm(meta=form_meta())
    if form.is_submitted() and form.is_bot:
        # Looks like success to the bot; nothing is stored.
        log.info("honeypot filled: submission discarded")
        return render_template("public/received.html")
    if form.validate_on_submit():
        now = utcnow()
        partner = current_partner()
        intake = form.build_intake(now=now, tz=ZoneInfo(current_app.config["TIMEZONE"]),
                                   channel=f"web:{partner}" if partner else "web")
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
@embeddable
def confirmation(token: str):
    callback = find_by_token(token) or abort(404)
    return render_template("public/confirmation.html", request=callback,
                           status_url=status_url(token), status_page=url_for("public.status", token=token),
                           phone_masked=mask_phone(callback.phone))


@bp.get("/suivi/<token>")
@embeddable
def status(token: str):
    callback = find_by_token(token) or abort(404)
    return render_template("public/status.html", request=callback, token=token, form=CancelForm(meta=form_meta()),
                           can_cancel=can_cancel(callback.status), position=queue_position(callback),
                           phone_masked=mask_phone(callback.phone) if callback.purged_at is None else None,
                           retention_months=retention_months())


@bp.post("/suivi/<token>/annuler")
@embeddable
def status_cancel(token: str):
    callback = find_by_token(token) or abort(404)
    form = CancelForm(meta=form_meta())
    if not form.validate_on_submit():
        abort(400)
    if cancel_request(callback, actor=ARTISAN, now=utcnow(), reason="cancelled by the artisan (status page)"):
        flash(_("Votre demande est annulée. Vous pouvez en faire une nouvelle à tout moment."), "success")
    else:
        flash(_("Cette demande ne peut plus être annulée."), "error")
    return redirect(url_for("public.status", token=token))


@bp.post("/suivi/<token>/effacer")
@embeddable
def status_erase(token: str):
    """The artisan erases a closed request's personal data (RGPD art. 17)."""
    callback = find_by_token(token) or abort(404)
    if not CancelForm(meta=form_meta()).validate_on_submit():
        abort(400)
    if erase_closed_request(callback, ARTISAN, utcnow()):
        flash(_("Vos données sont effacées."), "success")
    else:
        flash(_("Une demande en cours ne peut pas être effacée : annulez-la d'abord."), "error")
    return redirect(url_for("public.status", token=token))


def retention_months() -> int:
    return round(current_app.config["RETENTION_DAYS"] / 30.4)


def status_url(token: str) -> str:
    """The private link to keep (texts, e-mails, the API): the normal page, even from the dialog."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if base:
        return base + url_for("public.status", token=token, partenaire=None)
    return url_for("public.status", token=token, partenaire=None, _external=True)


@bp.get("/widget.js")
def widget_js():
    """The partner sites' « Être rappelé » button (static/js/widget.js), at a fixed address, with its
    texts in the browser's language (``language.widget_script``)."""
    response = widget_script(max_age=WIDGET_MAX_AGE)
    # Loaded by other sites' pages: say so, should a stricter default ever be set.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
