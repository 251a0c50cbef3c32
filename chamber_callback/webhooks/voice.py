"""The chamber's phone line on Twilio: « A call comes in » posts to ``/voice/inbound``, each step
of the menu to ``/voice/inbound/step``, the end of the call to ``/voice/inbound/status``. All are
signed webhooks; the menu itself is ``domain.phone_line``, run by ``services.phone_line``.

The replies are TwiML: ``<Say language="fr-FR">`` in the configured voice (``PHONE_VOICE``), or
``<Play>`` of a recording where the chamber dropped one in ``PHONE_PROMPTS_DIR``, inside a
``<Gather>`` whose action carries the reply's number; a silence falls through to a redirect.
"""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, request, send_from_directory
from twilio.twiml.voice_response import VoiceResponse

from ..clock import utcnow
from ..domain.phone_line import Reply, Step
from ..services import phone_line
from . import bp
from .routes import twilio_signed, twiml, webhook

ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
AUDIO = (".mp3", ".wav")


def recording(key: str | None) -> str | None:
    """The URL of the chamber's recording of a fixed prompt, when there is one."""
    folder = current_app.config.get("PHONE_PROMPTS_DIR")
    if not key or not folder:
        return None
    for suffix in AUDIO:
        if (Path(folder) / f"{key}{suffix}").is_file():
            return webhook(f"voice/prompts/{key}{suffix}")
    return None


def render(reply: Reply, n: int) -> VoiceResponse:
    """The TwiML of a reply: what is said, then the gather for the next keys (or the end)."""
    response = VoiceResponse()
    voice = current_app.config["PHONE_VOICE"]
    target = response
    if reply.gather is not None:
        gather = reply.gather
        # « # » alone answers the postal code step: Twilio must post even an empty result.
        empty_ok = gather.step == Step.POSTAL
        target = response.gather(input="dtmf", action=webhook("voice/inbound/step", n=n), method="POST",
                                 timeout=gather.timeout, finish_on_key=gather.finish_on_key,
                                 action_on_empty_result=empty_ok,
                                 **({"num_digits": gather.num_digits} if gather.num_digits else {}))
    for say in reply.says:
        url = recording(say.key)
        if url:
            target.play(url)
        else:
            target.say(say.text, language="fr-FR", voice=voice)
    if reply.gather is not None:
        response.redirect(webhook("voice/inbound/step", n=n, silence=1), method="POST")
    else:
        response.hangup()
    return response


@bp.post("/voice/inbound")
@twilio_signed
def inbound_call():
    """« A call comes in » on the chamber's number."""
    n, reply = phone_line.start(request.form.get("CallSid", ""), request.form.get("From"), utcnow())
    return twiml(render(reply, n))


@bp.post("/voice/inbound/step")
@twilio_signed
def inbound_step():
    n = request.args.get("n", "")
    if not n.isascii() or not n.isdigit():
        abort(400)
    digits = None if request.args.get("silence") else request.form.get("Digits", "")
    try:
        n, reply = phone_line.answer(request.form.get("CallSid", ""), int(n), digits, utcnow())
    except phone_line.UnknownCall:
        abort(404)
    return twiml(render(reply, n))


@bp.post("/voice/inbound/status")
@twilio_signed
def inbound_status():
    """The call's status callback: a call that ends in the menu is counted as hung up there."""
    if request.form.get("CallStatus") in ENDED:
        phone_line.ended(request.form.get("CallSid", ""), utcnow())
    return "", 204


@bp.get("/voice/prompts/<name>")
def prompt_audio(name: str):
    """A chamber's recording of a prompt (Twilio fetches it for ``<Play>``)."""
    folder = current_app.config.get("PHONE_PROMPTS_DIR")
    if not folder or not name.endswith(AUDIO) or "/" in name or name.startswith("."):
        abort(404)
    return send_from_directory(folder, name, max_age=3600)
