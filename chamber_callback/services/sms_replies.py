"""Text messages from artisans to the chamber's number: ANNULER, STOP, or the help text.

Each message is handled once per Twilio ``MessageSid``: the ``inbound_messages`` row is claimed
first (insert-or-ignore on its primary key), and a redelivered webhook gets the reply stored the
first time, with nothing done again. The message's text is never stored (only its keyword), nor
the sender's number, except in ``sms_opt_outs`` when the sender asked for STOP.

Replies go to whoever sent the message, and say nothing about anyone else: ANNULER cancels the
sender's own active request (one per phone), whatever reference follows the keyword.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from flask_babel import force_locale
from sqlalchemy import update

from ..domain import messages as texts
from ..domain.actors import ARTISAN
from ..domain.sms_replies import keyword_of
from ..extensions import db, insert_or_ignore
from ..models import InboundMessage, SmsOptOut
from . import settings
from .audit import record_event
from .intake import active_request_for_phone, cancel_request
from .messages import artisan_locale
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
OPT_OUT_ACTION = "sms.opted_out"
CANCEL_REASON = "cancelled by the artisan (SMS reply)"
PENDING = "pending"  # claimed, not finished yet (a ANNULER between its claim and its cancellation)


@dataclass(frozen=True)
class Handled:
    keyword: str
    outcome: str  # cancelled | not_cancellable | no_request | opted_out | help | unknown_sender | duplicate…
    reply: str | None  # None: nothing to answer (a redelivery of a message still being handled)
    duplicate: bool = False


def sender_phone(raw: str | None) -> str | None:
    """The sender in E.164 (``From`` as Twilio sends it, read as French when written nationally),
    or None when it is not a valid phone number (a short code, a withheld or alphanumeric sender)."""
    try:
        number = phonenumbers.parse((raw or "").strip(), "FR")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def handle_inbound(message_sid: str, sender: str | None, body: str | None, now: datetime) -> Handled:
    """Act on one inbound text message, once per ``message_sid``; returns the reply to send."""
    keyword, phone = keyword_of(body), sender_phone(sender)
    with unit_of_work():
        claimed = db.session.scalar(
            insert_or_ignore(InboundMessage, "message_sid")
            .values(message_sid=message_sid, keyword=keyword, outcome=PENDING, reply=None, received_at=now)
            .returning(InboundMessage.message_sid))
        if claimed is None:  # a redelivery: the first one decided (or is deciding) everything
            stored = db.session.get(InboundMessage, message_sid, populate_existing=True)
            return Handled(stored.keyword, stored.outcome, stored.reply, duplicate=True)
        if phone is None:
            outcome, reply = "unknown_sender", _help()
        elif keyword == "stop":
            outcome, reply = _opt_out(phone, now)
        elif keyword == "help":
            outcome, reply = "help", _help()
        else:
            outcome, reply = None, None  # cancelled below, in cancel_request's own transaction
        if outcome is not None:
            _finish(message_sid, outcome, reply)
    if outcome is None:
        outcome, reply = _cancel(phone, now)
        with unit_of_work():
            _finish(message_sid, outcome, reply)
    log.info("inbound SMS %s: %s → %s", message_sid, keyword, outcome)
    return Handled(keyword, outcome, reply)


def _help() -> str:
    return texts.sms_reply_help(settings.get("CHAMBER_PHONE"))


def _finish(message_sid: str, outcome: str, reply: str | None) -> None:
    db.session.execute(update(InboundMessage).where(InboundMessage.message_sid == message_sid)
                       .values(outcome=outcome, reply=reply).execution_options(synchronize_session=False))


def _opt_out(phone: str, now: datetime) -> tuple[str, str]:
    """Keep the number in ``sms_opt_outs`` (once) and audit it, on the active request if any;
    the event's data holds no phone number."""
    added = db.session.scalar(insert_or_ignore(SmsOptOut, "phone").values(phone=phone, created_at=now)
                              .returning(SmsOptOut.phone))
    active = active_request_for_phone(phone)
    record_event(request_id=active.id if active else None, action=OPT_OUT_ACTION, actor=ARTISAN, now=now,
                 data={"channel": "sms", "already_opted_out": added is None})
    with force_locale(artisan_locale(active) if active else "fr"):
        return "opted_out", texts.sms_reply_stopped()


def _cancel(phone: str, now: datetime) -> tuple[str, str]:
    """Cancel the sender's own active request (``cancel_request`` writes the audit event)."""
    request = active_request_for_phone(phone)
    if request is None:
        return "no_request", texts.sms_reply_nothing_to_cancel()
    with force_locale(artisan_locale(request)):  # the artisan's language, as for the texts sent before
        if not cancel_request(request, actor=ARTISAN, now=now, reason=CANCEL_REASON):
            return "not_cancellable", texts.sms_reply_not_cancellable()
        return "cancelled", texts.sms_reply_cancelled(request.reference)
