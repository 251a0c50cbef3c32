"""Twilio webhooks: the bridge's TwiML and the status callbacks. Every request must carry a
valid ``X-Twilio-Signature`` computed on the public URL; anything else gets 403."""
from __future__ import annotations

from functools import wraps

from flask import Response, abort, current_app, request
from flask_babel import gettext as _
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from ..clock import utcnow
from ..extensions import db
from ..models import CallAttempt
from ..services.calls import apply_call_event, record_answered_by
from ..services.messages import record_delivery
from ..telephony.twilio import webhook_url
from ..web import int_arg
from . import bp


def public_url() -> str:
    """The URL Twilio signed: the configured public base, the path, the raw query string.

    Behind a proxy, ``request.url`` would carry the internal host (or a decoded query) and the
    signature would never match.
    """
    query = request.query_string.decode("latin-1")
    return current_app.config["PUBLIC_BASE_URL"] + request.path + (f"?{query}" if query else "")


def twilio_signed(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = current_app.config.get("TWILIO_AUTH_TOKEN")
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not RequestValidator(token).validate(public_url(), request.form, signature):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), mimetype="text/xml")


def say_and_hang_up(text: str | None) -> Response:
    """A last French word on the line (if any), then the end of the call."""
    response = VoiceResponse()
    if text:
        response.say(text, language="fr-FR")
    response.hangup()
    return twiml(response)


def _attempt() -> CallAttempt:
    attempt = db.session.get(CallAttempt, int_arg(request.args, "attempt") or 0)
    if attempt is None:
        abort(404)
    return attempt


def webhook(path: str, **params) -> str:
    return webhook_url(current_app.config["PUBLIC_BASE_URL"], path, **params)


@bp.post("/voice/agent")
@twilio_signed
def agent_answered():
    """The agent picked up: announce the artisan, and dial only once the agent presses 1
    (so an agent's voicemail never calls the artisan)."""
    attempt = _attempt()
    if attempt.ended_at is not None:
        return say_and_hang_up(_("Cet appel n'est plus d'actualité. Au revoir."))
    response = VoiceResponse()
    gather = response.gather(num_digits=1, timeout=8, action=webhook("voice/connect", attempt=attempt.id),
                             method="POST")
    gather.say(_("Rappel de la chambre des métiers : %(business)s, sujet %(topic)s. Appuyez sur 1 pour appeler "
                 "l'artisan.", business=attempt.request.business_name, topic=attempt.request.topic.label),
               language="fr-FR")
    response.say(_("Aucune touche reçue. L'appel est annulé."), language="fr-FR")
    response.hangup()
    return twiml(response)


@bp.post("/voice/connect")
@twilio_signed
def connect():
    """The agent pressed a key: dial the artisan's stored number with the chamber's caller ID."""
    attempt = _attempt()
    if request.form.get("Digits") != "1" or attempt.ended_at is not None:
        return say_and_hang_up(_("Appel annulé."))
    response = VoiceResponse()
    dial = response.dial(caller_id=current_app.config["TWILIO_CALLER_ID"],
                         timeout=current_app.config["DIAL_TIMEOUT_SECONDS"],
                         action=webhook("voice/dial-done", attempt=attempt.id), method="POST")
    dial.number(attempt.request.phone,
                status_callback=webhook("status", attempt=attempt.id, leg="artisan"),
                status_callback_event="initiated ringing answered completed",  # a string: TwiML attribute
                status_callback_method="POST",
                machine_detection="Enable",
                amd_status_callback=webhook("amd", attempt=attempt.id), amd_status_callback_method="POST")
    return twiml(response)


@bp.post("/voice/dial-done")
@twilio_signed
def dial_done():
    """The artisan leg ended: a short word for the agent, then hang up."""
    _attempt()
    answered = request.form.get("DialCallStatus") == "completed"
    return say_and_hang_up(None if answered else _("L'artisan n'a pas répondu. Le résultat est enregistré."))


@bp.post("/status")
@twilio_signed
def status_callback():
    attempt = _attempt()
    leg = request.args.get("leg")
    if leg not in ("agent", "artisan"):
        abort(400)
    form = request.form
    duration = form.get("CallDuration") or form.get("DialCallDuration")
    apply_call_event(attempt.id, leg, form.get("CallSid", ""), form.get("CallStatus", ""), utcnow(),
                     duration_s=int(duration) if duration and duration.isdigit() else None,
                     answered_by=form.get("AnsweredBy"))
    return "", 204


@bp.post("/amd")
@twilio_signed
def amd_callback():
    attempt = _attempt()
    answered_by = request.form.get("AnsweredBy")
    if answered_by:
        record_answered_by(attempt.id, answered_by, utcnow())
    return "", 204


@bp.post("/sms-status")
@twilio_signed
def sms_status():
    """Delivery reports of text messages to artisans."""
    record_delivery(request.form.get("MessageSid", ""), request.form.get("MessageStatus", ""))
    return "", 204
