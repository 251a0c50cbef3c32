"""Twilio webhook for the text messages artisans send to the chamber's number (« A message
comes in »): ANNULER, STOP or anything else, answered with TwiML messaging XML."""
from __future__ import annotations

from flask import Response, abort, current_app, request
from twilio.twiml.messaging_response import MessagingResponse

from ..clock import utcnow
from ..services.sms_replies import handle_inbound
from . import bp
from .routes import twilio_signed


@bp.post("/sms/inbound")
@twilio_signed
def sms_inbound():
    """One inbound text message (see ``services/sms_replies.py``).

    The signature is checked first (403 without a valid one, like every webhook here), then
    ``SMS_REPLIES_ENABLED``: when it is off the answer is 404, so only Twilio itself, signing
    with the account's token, can tell whether the feature is on. The message's text is neither
    stored nor logged.
    """
    if not current_app.config.get("SMS_REPLIES_ENABLED"):
        abort(404)
    message_sid = request.form.get("MessageSid", "")
    if not message_sid or len(message_sid) > 64:
        abort(400)
    handled = handle_inbound(message_sid, request.form.get("From"), request.form.get("Body"), utcnow())
    response = MessagingResponse()
    if handled.reply:
        response.message(handled.reply)
    return Response(str(response), mimetype="text/xml")
