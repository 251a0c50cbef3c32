"""Messages to artisans: stored with the change that causes them, sent by a job after commit
(``queues.enqueue_message``). They are written in the artisan's language (``CallbackRequest.locale``,
French when unknown), whoever causes them: the artisan's own request, an agent, a job."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from sqlalchemy import func, select, update

from .. import PRIVATE_PATH
from ..domain import messages as texts
from ..extensions import begin_write, db, insert_or_ignore
from ..models import ArtisanMessage, CallbackRequest, SmsOptOut
from ..notify import get_mailer
from ..telephony import get_telephony
from . import settings

log = logging.getLogger(__name__)
DELIVERY_RANK = {"pending": 0, "queued": 1, "accepted": 1, "sending": 2, "sent": 3,
                 "delivered": 4, "undelivered": 4, "failed": 4}

def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _site() -> str:
    if current_app.config["PUBLIC_BASE_URL"]:
        return current_app.config["PUBLIC_BASE_URL"]
    return url_for("public.request_form", _external=True).rstrip("/") if has_request_context() else ""


def _status_url(token: str) -> str:
    return f"{_site()}/suivi/{token}"


REMINDER_EVERY = timedelta(hours=6)  # one reminder of the private link per request in this time


def add_message(request: CallbackRequest, kind: str, now: datetime, *, token: str | None = None,
                when: datetime | None = None) -> int | None:
    """Store the message in the caller's transaction (once per request and kind); returns its id,
    or None when that message was already stored (a reminder: once per ``REMINDER_EVERY``)."""
    with force_locale(artisan_locale(request)):
        return _add_message(request, kind, now, token=token, when=when)


def artisan_locale(request: CallbackRequest) -> str:
    """The language the artisan's texts and e-mails are written in."""
    return request.locale or "fr"


def _add_message(request: CallbackRequest, kind: str, now: datetime, *, token: str | None,
                 when: datetime | None) -> int | None:
    if kind == "confirmation" and request.eta_from and request.eta_reason is None:
        body = texts.confirmation_with_window(request.reference, texts.window_words(
            request.eta_from, request.eta_to, now, _tz()), _status_url(token))
    elif kind == "confirmation":
        body = texts.confirmation(request.reference, request.sla_deadline, _status_url(token), _tz())
    elif kind == "delay":
        body = texts.delay(request.reference, texts.window_words(request.eta_from, request.eta_to, now, _tz()))
    elif kind == "reminder":
        last = db.session.scalar(select(func.max(ArtisanMessage.created_at)).where(
            ArtisanMessage.request_id == request.id, ArtisanMessage.kind.like("reminder-%")))
        if last is not None and now - last < REMINDER_EVERY:
            return None  # one every REMINDER_EVERY (the caller holds the request's row lock)
        body, kind = texts.reminder(request.reference, _status_url(token)), f"reminder-{int(now.timestamp())}"
    elif kind == "unreachable":
        body = texts.unreachable(request.reference, _site(), settings.get("CHAMBER_PHONE"))
    else:
        body, kind = texts.follow_up(request.reference, when, _tz()), f"follow_up-{int(when.timestamp())}"
    return db.session.scalar(
        insert_or_ignore(ArtisanMessage, "request_id", "kind")
        .values(request_id=request.id, kind=kind, body=body, status="pending", created_at=now)
        .returning(ArtisanMessage.id))


def opted_out(phone: str) -> bool:
    """The number answered STOP to one of our texts (``sms_opt_outs``): no SMS goes to it again."""
    return db.session.get(SmsOptOut, phone) is not None


def channel_for(request: CallbackRequest) -> str | None:
    """SMS to a mobile unless the artisan said no (on the form, or STOP by text); e-mail otherwise,
    when there is one."""
    number = phonenumbers.parse(request.phone, None)
    mobile = phonenumbers.number_type(number) in (phonenumbers.PhoneNumberType.MOBILE,
                                                  phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if mobile and not request.no_sms and get_telephony().capabilities.sms and not opted_out(request.phone):
        return "sms"
    return "email" if request.email else None


def send_message(message_id: int, now: datetime) -> str:
    """Send one pending message (claimed first, so it goes out once)."""
    begin_write()
    claimed = db.session.execute(update(ArtisanMessage).where(ArtisanMessage.id == message_id,
                                                              ArtisanMessage.status == "pending")
                                 .values(status="sending").execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return "skipped"
    message = db.session.get(ArtisanMessage, message_id, populate_existing=True)
    request = db.session.get(CallbackRequest, message.request_id)
    # The channel is decided now, at sending, not when the message was stored: a STOP received
    # meanwhile turns a queued SMS into an e-mail (or into nothing without an address).
    channel, sid, status, error = channel_for(request), None, "sent", None
    try:
        if channel == "sms":
            sid = get_telephony().send_sms(request.phone, message.body)
        elif channel == "email":
            with force_locale(artisan_locale(request)):
                subject = texts.artisan_subject(message.kind)
            get_mailer().send(request.email, subject, message.body)
        else:
            status = "failed"
            error = "opted-out" if opted_out(request.phone) else "no-channel"
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the row must not stay "sending"
        status, error = "failed", str(getattr(exc, "code", None) or type(exc).__name__)[:16]
        log.warning("message %s (%s) failed: %s", message_id, channel, error)
    begin_write()
    # The private link is not kept once the message has gone: only its digest identifies the request.
    db.session.execute(update(ArtisanMessage).where(ArtisanMessage.id == message_id).values(
        channel=channel, provider_sid=sid, status=status, error_code=error, sent_at=now,
        body=PRIVATE_PATH.sub(r"/\1/…", message.body))
        .execution_options(synchronize_session=False))
    db.session.commit()
    return status


def record_delivery(provider_sid: str, status: str) -> bool:
    """Delivery status callback: moves forward only (a late "sent" never hides "delivered")."""
    begin_write()
    message = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.provider_sid == provider_sid))
    if message is None or DELIVERY_RANK.get(status, -1) <= DELIVERY_RANK.get(message.status, -1):
        db.session.commit()
        return False
    message.status = status
    db.session.commit()
    return True


def send_pending(now: datetime) -> int:
    """Reconciler: messages still pending a minute after they were written (lost jobs), and
    messages a worker died sending (claimed ten minutes ago, never finished)."""
    begin_write()
    db.session.execute(update(ArtisanMessage).where(
        ArtisanMessage.status == "sending", ArtisanMessage.provider_sid.is_(None),
        ArtisanMessage.sent_at.is_(None), ArtisanMessage.created_at < now - timedelta(minutes=10))
        .values(status="pending").execution_options(synchronize_session=False))
    db.session.commit()
    ids = db.session.scalars(select(ArtisanMessage.id).where(ArtisanMessage.status == "pending",
                                                             ArtisanMessage.created_at < now - timedelta(minutes=1))
                             .limit(200)).all()
    db.session.commit()
    return sum(send_message(message_id, now) == "sent" for message_id in ids)
