"""The public intake API (JSON), documented at /api/v1/openapi.json."""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app, jsonify, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from .. import labels
from ..clock import utcnow
from ..domain.actors import API_CLIENT
from ..domain.geography import communes_for
from ..domain.intake import N_, IntakeError, check_window
from ..extensions import zone_named
from ..labels import duplicate_message
from ..models import CallbackRequest
from ..public.forms import IntakeForm, topic_choices
from ..public.routes import intake_rate_limit, status_url
from ..services import reference, settings
from ..services.intake import cancel_request, find_by_token, submit_request
from ..web import problem
from . import bp
from .openapi import openapi_document

log = logging.getLogger(__name__)

TEXT_FIELDS = ("name", "business_name", "siret", "sector", "phone", "email", "postal_code", "commune",
               "topic", "description", "urgency_reason", "leave_blank")
BOOLEAN_FIELDS = ("urgent", "consent", "no_sms")



def validation_problem(errors: dict[str, list[str]], **extra):
    return problem(422, _("Données invalides"), _("Corrigez les champs indiqués dans « errors »."),
                   errors=errors, **extra)


def request_json(callback: CallbackRequest, **extra) -> dict:
    body = {
        "reference": callback.reference,
        "status": callback.status,
        "sla_deadline": callback.sla_deadline.isoformat(),
        "submitted_at": callback.submitted_at.isoformat(),
        "unit": reference.unit_code(callback.unit_id),
        "topic": reference.topic_code(callback.topic_id),
        "urgent": callback.urgent,
        "expected_callback": _expected(callback),
    }
    body.update(extra)
    return body


def _expected(callback: CallbackRequest) -> dict | None:
    """The window in which the first call should start (local times with their offset), or None
    when it cannot be said (in a call, closed, or nobody present or planned before the deadline)."""
    if callback.eta_from is None or callback.eta_reason is not None or not labels.expected_callback(callback):
        return None
    zone = zone_named(current_app.config["TIMEZONE"])
    return {"from": callback.eta_from.astimezone(zone).isoformat(), "to": callback.eta_to.astimezone(zone).isoformat()}


def _form_data(payload: dict) -> tuple[MultiDict, dict[str, list[str]]]:
    """Turn the JSON body into form data for the shared form, checking JSON types first."""
    data, errors = MultiDict(), {}
    for name in TEXT_FIELDS:
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            errors[name] = [_("Une chaîne de caractères est attendue.")]
            continue
        data[name] = value
    for name in BOOLEAN_FIELDS:
        value = payload.get(name, False)
        if not isinstance(value, bool):
            errors[name] = [_("Un booléen (true ou false) est attendu.")]
        elif value:
            data[name] = "y"
    return data, errors


def _preferred_window(payload: dict, now: datetime) -> tuple[datetime, datetime] | None:
    window = payload.get("preferred_window")
    if window is None:
        return None
    if not isinstance(window, dict) or not {"start", "end"} <= window.keys():
        raise IntakeError(N_("Un objet {start, end} en ISO 8601 est attendu."))
    try:
        start = datetime.fromisoformat(window["start"])
        end = datetime.fromisoformat(window["end"])
    except (TypeError, ValueError):
        raise IntakeError(N_("Dates attendues au format ISO 8601, par exemple 2026-03-02T08:00:00+01:00.")) from None
    return check_window(start, end, now, ZoneInfo(current_app.config["TIMEZONE"]))


@bp.post("/callback-requests")
@intake_rate_limit
def create_callback_request():
    crisis = settings.intake_state()
    if crisis.paused:
        detail = crisis.paused_message or _("Les demandes de rappel sont suspendues pour le moment.")
        response = problem(503, _("Demandes de rappel suspendues"),
                           _("%(message)s Appelez la chambre au %(phone)s.", message=detail, phone=crisis.phone),
                           chamber_phone=crisis.phone)
        response.headers["Retry-After"] = "3600"
        return response
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        return problem(400, _("Corps JSON attendu"), _("Envoyez un objet JSON avec Content-Type: application/json."))
    if (payload.get("leave_blank") or "") != "":
        log.info("api honeypot filled: submission discarded")
        return problem(400, _("Demande refusée"), _("Le champ « leave_blank » doit rester vide."))
    now = utcnow()
    data, errors = _form_data(payload)
    form = IntakeForm(formdata=data, meta={"csrf": False})
    valid = form.validate()
    errors.update({name: list(messages) for name, messages in form.errors.items() if name not in errors})
    window = None
    try:
        window = _preferred_window(payload, now)
    except IntakeError as error:
        errors["preferred_window"] = [_(error.message)]
    if errors or not valid:
        extra = {}
        if "commune" in errors and form.commune.choices:
            extra["communes"] = [{"insee": c.value, "name": c.label} for c in form.commune.choices]
        return validation_problem(errors, **extra)

    intake = form.build_intake(now=now, tz=ZoneInfo(current_app.config["TIMEZONE"]), channel="api", window=window)
    submission = submit_request(intake, actor=API_CLIENT, now=now, sla_hours=settings.get("SLA_HOURS"))
    callback = submission.request
    if not submission.created:
        # Anyone may know a phone number: say a request exists, nothing about it; its link goes to
        # the contact details on file.
        return jsonify(duplicate=True, reminder_sent=submission.reminded,
                       detail=duplicate_message(submission.reminded)), 200
    body = request_json(callback, token=submission.token, status_url=status_url(submission.token), duplicate=False)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.callback_request", token=submission.token)
    return response


@bp.route("/callback-requests/<token>", methods=["GET", "DELETE"])
def callback_request(token: str):
    callback = find_by_token(token)
    if callback is None:
        return problem(404, _("Demande introuvable"))
    if request.method == "DELETE" and not cancel_request(callback, actor=API_CLIENT, now=utcnow(),
                                                         reason="cancelled through the API"):
        return problem(409, _("Cette demande ne peut plus être annulée."), request_status=callback.status)
    return jsonify(request_json(callback))


@bp.get("/postal-codes/<code>")
def postal_code(code: str):
    """The communes of a postal code, so a form can ask for the commune when it spans two départements."""
    communes = communes_for(code) if code.isdigit() and len(code) == 5 else []
    if not communes:
        return problem(404, _("Ce code postal n'existe pas."))
    departements = sorted({c.departement for c in communes})
    response = jsonify(postal_code=code, departements=departements,
                       communes=[{"insee": c.insee, "name": c.name, "departement": c.departement} for c in communes])
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response


@bp.get("/topics")
def topics():
    return jsonify(topics=[{"code": choice.value, "label": choice.label} for choice in topic_choices()])


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document(current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/"),
                           consent_asked=current_app.config["LEGAL_BASIS"] == "consent"))
