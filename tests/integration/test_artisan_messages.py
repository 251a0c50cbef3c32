"""Messages to artisans: after submission, when unreachable, for a follow-up; SMS or e-mail."""
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import ArtisanMessage, CallbackRequest
from chamber_callback.services import assignment as engine
from chamber_callback.services.messages import record_delivery, send_message
from tests.integration.helpers import T0, make_request, make_staff
from tests.integration.twilio_fakes import signed_post, use_http

URL = "/api/v1/callback-requests"


def messages():
    db.session.rollback()  # a fresh snapshot: the worker committed in between
    db.session.expire_all()
    return db.session.scalars(select(ArtisanMessage).order_by(ArtisanMessage.id)).all()


def test_confirmation_sms_after_submission(app, client, run_jobs, valid_json):
    sms_log = Path(app.config["SMS_LOG"])
    sms_log.unlink(missing_ok=True)
    body = client.post(URL, json=valid_json).get_json()
    run_jobs()
    [message] = messages()
    assert (message.kind, message.channel, message.status) == ("confirmation", "sms", "sent")
    logged = sms_log.read_text(encoding="utf-8")
    assert "+33698765432" in logged and body["reference"] in logged and body["status_url"] in logged
    assert send_message(message.id, T0) == "skipped"  # sent once
    assert body["token"] not in messages()[0].body  # the private link is not kept once sent


def test_no_sms_means_email_and_landline_without_email_means_nothing(app, client, run_jobs, valid_json):
    mail_log = Path(app.config["MAIL_LOG"])
    mail_log.unlink(missing_ok=True)
    client.post(URL, json=dict(valid_json, no_sms=True, email="karim@example.fr"))
    client.post(URL, json=dict(valid_json, phone="01 42 68 53 00"))  # a landline, no e-mail
    run_jobs()
    by_request = {m.request_id: m for m in messages()}
    by_phone = {phone: by_request[rid] for phone, rid in db.session.execute(
        select(CallbackRequest.phone, CallbackRequest.id)).all()}
    assert (by_phone["+33698765432"].channel, by_phone["+33698765432"].status) == ("email", "sent")
    assert "karim@example.fr" in mail_log.read_text(encoding="utf-8")
    assert (by_phone["+33142685300"].channel, by_phone["+33142685300"].status) == (None, "failed")


def test_unreachable_after_the_last_attempt_and_follow_up_time(app, run_jobs):
    agent = make_staff(capacity=2)
    lost = make_request(now=T0)
    now = T0
    for _ in range(3):
        engine.requeue_due(now)
        engine.claim_next(agent, now)
        attempt = engine.start_attempt(lost.reference, agent, now)
        engine.record_outcome(attempt.id, agent, "no_answer", now)
        now += timedelta(minutes=31)
    kinds = [m.kind for m in messages() if m.request_id == lost.id]
    assert kinds == ["confirmation", "unreachable"]
    later = make_request(now=now)
    engine.claim_next(agent, now)
    attempt = engine.start_attempt(later.reference, agent, now)
    engine.record_outcome(attempt.id, agent, "reached_follow_up", now, follow_up_at=now + timedelta(hours=3))
    follow = [m for m in messages() if m.request_id == later.id][-1]
    assert follow.kind.startswith("follow_up-") and "comme convenu" in follow.body


def test_twilio_sends_sms_and_records_delivery_in_order(twilio_app):
    http = use_http(twilio_app, [(201, {"sid": "SM" + "1" * 32, "status": "queued"})])
    request = make_request(phone="+33612345678", now=T0)
    [message] = messages()
    assert send_message(message.id, T0) == "sent"
    [sent] = http.requests
    assert sent["url"].endswith("/Messages.json") and sent["data"]["To"] == "+33612345678"
    assert request.reference in sent["data"]["Body"]
    assert sent["data"]["StatusCallback"] == "https://rappel.example.fr/webhooks/twilio/sms-status"
    client = twilio_app.test_client()
    assert signed_post(client, "/webhooks/twilio/sms-status",
                       {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}).status_code == 204
    signed_post(client, "/webhooks/twilio/sms-status", {"MessageSid": "SM" + "1" * 32, "MessageStatus": "sent"})
    assert messages()[0].status == "delivered"  # a late "sent" does not go back
    assert client.post("/webhooks/twilio/sms-status", data={"MessageSid": "x"}).status_code == 403
    assert record_delivery("unknown", "delivered") is False
