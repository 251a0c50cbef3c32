"""Artisans' replies by text message: ANNULER, STOP, help; signed, once per MessageSid, TwiML as XML."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from chamber_callback.domain.actors import Actor
from chamber_callback.domain.intake import Intake, resolve_postal_code
from chamber_callback.extensions import db
from chamber_callback.models import ArtisanMessage, AuditEvent, InboundMessage, SmsOptOut
from chamber_callback.services import assignment as engine
from chamber_callback.services.intake import submit_request
from chamber_callback.services.messages import send_message
from chamber_callback.services.sms_replies import sender_phone
from tests.conftest import empty_tables, make_app
from tests.integration.helpers import T0, make_request, make_staff, request_by_id
from tests.integration.twilio_fakes import BASE, TOKEN, TWILIO, signed_post, use_http

URL = "/webhooks/twilio/sms/inbound"
SENDER = "+33612345678"
OTHER = "+33698765432"
_sid = {"n": 0}


@pytest.fixture
def sms_app(_migrated):
    app = make_app(**TWILIO, SMS_REPLIES_ENABLED=True)
    app.extensions["redis"].flushdb()
    with app.app_context():
        yield app
        empty_tables()
    app.extensions["redis"].flushdb()


def new_sid() -> str:
    _sid["n"] += 1
    return f"SM{_sid['n']:032d}"


def text(client, body, sender=SENDER, sid=None):
    """What Twilio posts when a message comes in; returns (response, the reply's text or None)."""
    form = {"MessageSid": sid or new_sid(), "AccountSid": TWILIO["TWILIO_ACCOUNT_SID"], "From": sender,
            "To": "+33970000000", "Body": body, "NumMedia": "0"}
    response = signed_post(client, URL, form)
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    message = root.find("Message")
    return response, None if message is None else message.text


def submit(phone, email=None):
    intake = Intake(name="Martine Lefèvre", business_name="Boulangerie Lefèvre", sector="alimentation",
                    phone=phone, postal_code="75011", commune=resolve_postal_code("75011"), topic="aides",
                    description="Question", urgent=False, consent=True, email=email)
    return submit_request(intake, actor=Actor("artisan"), now=T0, sla_hours=24).request


def events(action):
    db.session.rollback()
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def message_of(request_id):
    db.session.rollback()
    return db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.request_id == request_id))


@pytest.mark.parametrize("body", ["annuler", "Annulé", "ANNULER", "  annuler svp"])
def test_cancel_keyword_in_any_case_and_with_accents_cancels_the_senders_request(sms_app, body):
    request = submit(SENDER)
    _, reply = text(sms_app.test_client(), body)
    assert request_by_id(request.id).status == "cancelled"
    assert reply == f"CMA : votre demande de rappel {request.reference} a été annulée."


def test_cancel_with_someone_elses_reference_cancels_only_the_senders_own_request(sms_app):
    mine, theirs = submit(SENDER), submit(OTHER)
    _, reply = text(sms_app.test_client(), f"ANNULER {theirs.reference}")
    assert request_by_id(mine.id).status == "cancelled"
    assert request_by_id(theirs.id).status == "queued"  # untouched
    assert theirs.reference not in reply and mine.reference in reply
    assert "Lefèvre" not in reply and OTHER not in reply and SENDER not in reply  # no personal data
    [event] = events("request.cancelled")
    assert (event.request_id, event.actor_type, event.to_status) == (mine.id, "artisan", "cancelled")
    assert "SMS" in event.reason


def test_cancel_without_an_active_request_says_so_and_reveals_nothing(sms_app):
    theirs = submit(OTHER)
    _, reply = text(sms_app.test_client(), f"annuler {theirs.reference}")
    assert reply == "CMA : aucune demande de rappel en cours pour ce numéro."
    assert request_by_id(theirs.id).status == "queued"
    assert events("request.cancelled") == []


def test_a_request_in_a_call_cannot_be_cancelled_by_text(sms_app):
    agent = make_staff()
    request = make_request(phone=SENDER, now=T0)
    engine.claim_next(agent, T0)
    assert request_by_id(request.id).status == "in_call"
    _, reply = text(sms_app.test_client(), "ANNULER")
    assert request_by_id(request.id).status == "in_call"
    assert "plus possible de l'annuler" in reply


@pytest.mark.parametrize("body", ["stop", "Stop.", "STOP", "Arrêt", "arreter svp"])
def test_stop_in_any_case_records_the_opt_out(sms_app, body):
    _, reply = text(sms_app.test_client(), body)
    db.session.rollback()
    assert db.session.scalars(select(SmsOptOut.phone)).all() == [SENDER]
    assert "vous ne recevrez plus de SMS" in reply


def test_after_stop_queued_and_later_messages_go_by_email_or_not_at_all(sms_app):
    http = use_http(sms_app, [])  # any SMS sent would show here (and fail: no canned answer)
    mail_log = Path(sms_app.config["MAIL_LOG"])
    mail_log.unlink(missing_ok=True)
    queued = submit(SENDER, email="martine@example.fr")  # its confirmation waits to be sent
    client = sms_app.test_client()
    text(client, "STOP")
    [event] = events("sms.opted_out")
    assert (event.request_id, event.actor_type) == (queued.id, "artisan")
    assert SENDER not in str(event.data) and "612345678" not in str(event.data)  # no phone in the audit
    assert request_by_id(queued.id).status == "queued"  # STOP is not a cancellation

    message = message_of(queued.id)
    assert send_message(message.id, T0) == "sent"
    message = message_of(queued.id)
    assert (message.channel, message.status) == ("email", "sent")
    assert "martine@example.fr" in mail_log.read_text(encoding="utf-8")

    text(client, "ANNULER")  # then a new request from the same number, without an e-mail
    later = submit(SENDER)
    message = message_of(later.id)
    assert message.kind == "confirmation"
    assert send_message(message.id, T0) == "failed"
    message = message_of(later.id)
    assert (message.channel, message.status, message.error_code) == (None, "failed", "opted-out")
    assert http.requests == []  # not one SMS to the opted-out number


def test_other_numbers_still_get_sms_after_someone_else_said_stop(sms_app):
    http = use_http(sms_app, [(201, {"sid": "SM" + "f" * 32, "status": "queued"})])
    text(sms_app.test_client(), "STOP", sender=OTHER)
    request = submit(SENDER)
    assert send_message(message_of(request.id).id, T0) == "sent"
    assert [sent["data"]["To"] for sent in http.requests] == [SENDER]


def test_stop_without_an_active_request_is_audited_without_one(sms_app):
    text(sms_app.test_client(), "stop")
    [event] = events("sms.opted_out")
    assert event.request_id is None and event.data["already_opted_out"] is False
    text(sms_app.test_client(), "STOP")  # a second STOP (another message): one number, two events
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 1
    assert [e.data["already_opted_out"] for e in events("sms.opted_out")] == [False, True]


@pytest.mark.parametrize("body", ["Bonjour, quand serai-je rappelé ?", "", "je veux annuler", "aide"])
def test_anything_else_gets_the_help_text_with_the_chamber_phone(sms_app, body):
    request = submit(SENDER)
    _, reply = text(sms_app.test_client(), body)
    assert sms_app.config["CHAMBER_PHONE"] in reply and "ANNULER" in reply and "STOP" in reply
    assert request_by_id(request.id).status == "queued"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 0


def test_an_unreadable_sender_gets_the_help_text_and_nothing_is_done(sms_app):
    _, reply = text(sms_app.test_client(), "STOP", sender="CMA")
    assert "ANNULER" in reply
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 0
    assert db.session.scalar(select(InboundMessage.outcome)) == "unknown_sender"


def test_a_redelivered_message_acts_once_and_gets_the_same_reply(sms_app):
    request = submit(SENDER)
    client = sms_app.test_client()
    first, first_reply = text(client, "ANNULER", sid="SM" + "d" * 32)
    later = submit(SENDER)  # a new request meanwhile: the redelivery must not cancel it
    again, again_reply = text(client, "ANNULER", sid="SM" + "d" * 32)
    assert again.data == first.data and again_reply == first_reply and request.reference in again_reply
    assert request_by_id(later.id).status == "queued"
    assert len(events("request.cancelled")) == 1
    stop_sid = "SM" + "e" * 32
    assert text(client, "STOP", sid=stop_sid)[0].data == text(client, "STOP", sid=stop_sid)[0].data
    assert len(events("sms.opted_out")) == 1
    rows = db.session.scalars(select(InboundMessage).order_by(InboundMessage.message_sid)).all()
    assert [(row.keyword, row.outcome) for row in rows] == [("cancel", "cancelled"), ("stop", "opted_out")]
    assert rows[0].reply == first_reply


def test_the_message_text_is_never_stored(sms_app):
    body = "Bonjour, je suis Martine Lefèvre, 12 rue des Lilas"
    text(sms_app.test_client(), body)
    db.session.rollback()
    row = db.session.scalar(select(InboundMessage))
    assert (row.keyword, row.outcome) == ("help", "help")
    stored = " ".join(str(value) for value in (row.message_sid, row.keyword, row.outcome, row.reply))
    assert "Lilas" not in stored and "Martine" not in stored and SENDER not in stored


def test_the_endpoint_refuses_a_wrong_or_missing_signature(sms_app):
    client = sms_app.test_client()
    form = {"MessageSid": new_sid(), "From": SENDER, "Body": "STOP"}
    assert client.post(URL, data=form).status_code == 403
    assert client.post(URL, data=form, headers={"X-Twilio-Signature": "bad"}).status_code == 403
    internal = RequestValidator(TOKEN).compute_signature("http://localhost" + URL, form)
    assert client.post(URL, data=form, headers={"X-Twilio-Signature": internal}).status_code == 403
    tampered = RequestValidator(TOKEN).compute_signature(BASE + URL, form)
    assert client.post(URL, data=dict(form, Body="ANNULER"),
                       headers={"X-Twilio-Signature": tampered}).status_code == 403
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 0
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0
    assert signed_post(client, URL, form).status_code == 200  # the same form, signed


def test_a_message_without_sid_is_refused(sms_app):
    assert signed_post(sms_app.test_client(), URL, {"From": SENDER, "Body": "STOP"}).status_code == 400


def test_disabled_by_default_answers_404_after_the_signature_check(twilio_app):
    assert twilio_app.config["SMS_REPLIES_ENABLED"] is False
    client = twilio_app.test_client()
    form = {"MessageSid": new_sid(), "From": SENDER, "Body": "STOP"}
    assert signed_post(client, URL, form).status_code == 404
    assert client.post(URL, data=form).status_code == 403  # unsigned: refused first
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SmsOptOut)) == 0


@pytest.mark.parametrize("raw, e164", [("+33612345678", SENDER), ("06 12 34 56 78", SENDER),
                                       ("+590690123456", "+590690123456"), ("CMA", None), ("", None),
                                       (None, None), ("36111", None)])
def test_the_sender_is_read_as_e164(raw, e164):
    assert sender_phone(raw) == e164

