"""Click-to-call: the Twilio adapter against an injected HTTP client, signed webhooks, TwiML
asserted as XML, callbacks duplicated and out of order, and the console simulator."""
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from chamber_callback.config import ConfigError
from chamber_callback.domain.actors import Actor
from chamber_callback.extensions import db
from chamber_callback.jobs import simulate_call
from chamber_callback.models import CallAttempt, CallEvent
from chamber_callback.queues import ASSIGNMENT_QUEUE, get_queue
from chamber_callback.services import assignment as engine
from chamber_callback.services.calls import CallNotPlaced, place_call, record_answered_by
from tests.conftest import make_app
from tests.integration.helpers import T0, make_request, make_staff, request_by_id
from tests.integration.twilio_fakes import BASE, TOKEN, signed_post, use_http


def held_call(agent_phone="+33611223344"):
    agent = make_staff()
    agent.phone = agent_phone
    db.session.commit()
    request = make_request(now=T0)
    engine.claim_next(agent, T0)
    return agent, request


def test_missing_twilio_settings_fail_at_start(_migrated):
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN, TWILIO_CALLER_ID"):
        make_app(TELEPHONY="twilio", TWILIO_ACCOUNT_SID="AC" + "a" * 32, TWILIO_AUTH_TOKEN=None,
                 TWILIO_CALLER_ID=None)


def test_call_calls_the_agent_first_with_server_side_numbers(twilio_app):
    http = use_http(twilio_app, [(201, {"sid": "CA" + "1" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    [sent] = http.requests
    assert sent["method"] == "POST" and sent["url"].endswith("/Calls.json")
    assert sent["data"]["To"] == "+33611223344"  # the agent's own phone
    assert sent["data"]["From"] == "+33970000000"  # the chamber's caller ID
    assert sent["data"]["Url"] == f"{BASE}/webhooks/twilio/voice/agent?attempt={attempt.id}"
    assert sent["data"]["StatusCallback"] == f"{BASE}/webhooks/twilio/status?attempt={attempt.id}&leg=agent"
    assert db.session.get(CallAttempt, attempt.id).call_sid == "CA" + "1" * 32


@pytest.mark.parametrize("code, http_status, says", [
    (21211, 400, "refuse votre numéro"),  # the bridge calls the agent first: it is the agent's number
    (20500, 500, "erreur 20500"),  # provider trouble
])
def test_provider_refusal_gets_a_clear_message_and_costs_the_artisan_nothing(twilio_app, code, http_status, says):
    use_http(twilio_app, [(http_status, {"code": code, "message": "refused", "status": http_status})])
    agent, request = held_call()
    with pytest.raises(CallNotPlaced) as caught:
        place_call(request.reference, agent, T0)
    assert says in str(caught.value) and "retourne dans la file" in str(caught.value)
    attempt = db.session.scalar(select(CallAttempt))
    assert attempt.outcome is None and attempt.ended_at is not None
    request = request_by_id(request.id)
    assert (request.status, request.failed_attempts) == ("queued", 0)  # nobody called the artisan


def test_an_agent_without_phone_is_told_before_anything_is_dialled(twilio_app):
    http = use_http(twilio_app, [])
    agent, request = held_call(agent_phone=None)
    with pytest.raises(CallNotPlaced, match="votre numéro"):
        place_call(request.reference, agent, T0)
    assert http.requests == [] and db.session.scalar(select(func.count()).select_from(CallAttempt)) == 0


def test_twiml_announces_then_dials_the_stored_number(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "2" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    client = twilio_app.test_client()
    agent_twiml = signed_post(client, f"/webhooks/twilio/voice/agent?attempt={attempt.id}",
                              {"CallSid": "CA" + "2" * 32})
    assert agent_twiml.mimetype == "text/xml"
    root = ET.fromstring(agent_twiml.data)
    gather = root.find("Gather")
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{BASE}/webhooks/twilio/voice/connect?attempt={attempt.id}"
    assert request.business_name in gather.find("Say").text and gather.find("Say").get("language") == "fr-FR"

    dial_twiml = signed_post(client, f"/webhooks/twilio/voice/connect?attempt={attempt.id}", {"Digits": "1"})
    dial = ET.fromstring(dial_twiml.data).find("Dial")
    assert (dial.get("callerId"), dial.get("timeout")) == ("+33970000000", "25")
    number = dial.find("Number")
    assert number.text == request.phone  # from the database, never from the request
    assert number.get("statusCallbackEvent") == "initiated ringing answered completed"
    assert number.get("statusCallback") == f"{BASE}/webhooks/twilio/status?attempt={attempt.id}&leg=artisan"
    assert number.get("machineDetection") == "Enable"

    other_key = signed_post(client, f"/webhooks/twilio/voice/connect?attempt={attempt.id}", {"Digits": "2"})
    assert ET.fromstring(other_key.data).find("Dial") is None
    assert ET.fromstring(other_key.data).find("Hangup") is not None


@pytest.mark.parametrize("path", ["voice/agent", "voice/connect", "voice/dial-done", "status", "amd"])
def test_every_webhook_refuses_a_wrong_or_missing_signature(twilio_app, path):
    client = twilio_app.test_client()
    url = f"/webhooks/twilio/{path}?attempt=1&leg=artisan"
    form = {"CallSid": "CA" + "3" * 32, "CallStatus": "completed"}
    assert client.post(url, data=form).status_code == 403
    assert client.post(url, data=form, headers={"X-Twilio-Signature": "bad"}).status_code == 403
    # signed for the internal URL instead of the public one: refused too
    internal = RequestValidator(TOKEN).compute_signature("http://localhost" + url, form)
    assert client.post(url, data=form, headers={"X-Twilio-Signature": internal}).status_code == 403


def test_duplicate_and_out_of_order_callbacks_close_the_attempt_once(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "4" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    client = twilio_app.test_client()
    status_url = f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan"
    leg = "CA" + "5" * 32
    for status, duration in [("initiated", None), ("no-answer", "0"), ("no-answer", "0"), ("ringing", None)]:
        form = {"CallSid": leg, "CallStatus": status, "ParentCallSid": "CA" + "4" * 32}
        if duration is not None:
            form["CallDuration"] = duration
        assert signed_post(client, status_url, form).status_code == 204
    db.session.expire_all()
    attempt = db.session.get(CallAttempt, attempt.id)
    assert attempt.artisan_status == "no-answer"  # the late "ringing" did not overwrite it
    assert attempt.outcome == "no_answer" and attempt.ended_at is not None
    assert db.session.scalar(select(func.count()).select_from(CallEvent)) == 3  # the duplicate was dropped
    assert request_by_id(request.id).status == "retry_wait"
    assert request_by_id(request.id).failed_attempts == 1  # counted once


def test_answering_machine_is_voicemail_never_a_reached_artisan(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "6" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    client = twilio_app.test_client()
    leg = "CA" + "7" * 32
    signed_post(client, f"/webhooks/twilio/amd?attempt={attempt.id}", {"CallSid": leg, "AnsweredBy": "machine_start"})
    signed_post(client, f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": leg, "CallStatus": "completed", "CallDuration": "42"})
    db.session.expire_all()
    assert db.session.get(CallAttempt, attempt.id).outcome == "voicemail"


def test_a_person_answering_leaves_the_outcome_to_the_agent(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "8" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    client = twilio_app.test_client()
    signed_post(client, f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": "CA" + "9" * 32, "CallStatus": "completed", "CallDuration": "180", "AnsweredBy": "human"})
    db.session.expire_all()
    assert db.session.get(CallAttempt, attempt.id).ended_at is None
    engine.record_outcome(attempt.id, agent, "reached_resolved", T0 + timedelta(minutes=4))
    assert request_by_id(request.id).status == "completed"


def test_console_simulator_plays_the_whole_flow(_migrated):
    app = make_app(TELEPHONY_SIMULATOR="busy:1")
    with app.app_context():
        try:
            agent = make_staff()
            agent.phone = "+33611223344"
            db.session.commit()
            response = app.test_client().post("/api/v1/callback-requests", json={
                "name": "Anne Lambert", "business_name": "Couture Lambert", "sector": "fabrication",
                "phone": "06 55 44 33 22", "postal_code": "75011", "topic": "aides", "description": "Aide ?",
                "consent": True})
            reference = response.get_json()["reference"]
            from chamber_callback.models import CallbackRequest, Offer
            request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
            assert engine.assign_request(request.id, T0) == agent.id  # what the queued job does
            offer = db.session.scalar(select(Offer).where(Offer.status == "pending"))
            engine.accept_offer(offer.id, agent, offer.created_at)
            attempt = place_call(request.reference, agent, T0)
            assert attempt.call_sid.startswith("SIM")
            assert simulate_call(attempt.id) == "busy"
            db.session.expire_all()
            attempt = db.session.get(CallAttempt, attempt.id)
            assert (attempt.agent_status, attempt.artisan_status, attempt.outcome) == ("completed", "busy", "no_answer")
            assert request_by_id(request.id).status == "retry_wait"
            assert simulate_call(attempt.id) == "skipped"  # already over: nothing replayed

            # The simulated call's job may run before the bridge's commit has stored its call id.
            request.status, request.assigned_agent_id = "in_call", agent.id
            early = CallAttempt(request_id=request.id, agent_id=agent.id, started_at=T0)
            db.session.add(early)
            db.session.commit()
            assert early.call_sid is None
            assert simulate_call(early.id) == "busy"
            db.session.expire_all()
            early = db.session.get(CallAttempt, early.id)
            assert (early.agent_status, early.artisan_status, early.outcome) == ("completed", "busy", "no_answer")
        finally:
            for table in ("call_events", "artisan_messages", "audit_events", "call_attempts", "offers",
                          "callback_requests", "agent_skills", "staff_users"):
                db.session.execute(db.text(f"DELETE FROM {table}"))
            db.session.commit()


def test_tests_cannot_reach_the_network():
    import socket

    with pytest.raises(AssertionError, match="only 127.0.0.1"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)


def test_calls_over_the_accounts_cps_wait_for_the_next_second(twilio_app, freeze_clock):
    from chamber_callback.jobs import bridge_call
    this_second = datetime.fromtimestamp(1_800_000_000, UTC)
    freeze_clock(this_second)
    http = use_http(twilio_app, [(201, {"sid": "CA" + "a" * 32, "status": "queued"}),
                                 (201, {"sid": "CA" + "b" * 32, "status": "queued"})])
    first_agent, first = held_call()
    second_agent, second = held_call(agent_phone="+33622334455")
    place_call(first.reference, first_agent, T0)
    queued = place_call(second.reference, second_agent, T0)
    assert len(http.requests) == 1  # TWILIO_CPS=1: the second waits
    assert db.session.get(CallAttempt, queued.id).call_sid is None
    # It waits with what agents wait for, not behind the artisans' texts (thousands in a crisis).
    [waiting] = get_queue(ASSIGNMENT_QUEUE).scheduled_job_registry.get_job_ids()
    assert waiting.startswith(f"bridge-{queued.id}-")
    freeze_clock(this_second + timedelta(seconds=1))
    assert bridge_call(queued.id) == "placed"
    assert http.requests[1]["data"]["To"] == "+33622334455"


def test_a_call_without_news_is_asked_about_then_given_back(twilio_app):
    from chamber_callback.services.calls import reconcile_stuck_calls

    http = use_http(twilio_app, [(201, {"sid": "CA" + "c" * 32, "status": "queued"}),
                                 (200, {"sid": "CA" + "c" * 32, "status": "in-progress"}),
                                 (200, {"sid": "CA" + "c" * 32, "status": "completed"})])
    agent, request = held_call()
    place_call(request.reference, agent, T0)
    assert reconcile_stuck_calls(T0 + timedelta(minutes=5)) == 0  # not stuck yet: not even asked
    assert reconcile_stuck_calls(T0 + timedelta(minutes=20)) == 0  # Twilio says it is still going
    assert reconcile_stuck_calls(T0 + timedelta(minutes=40)) == 1  # over, and the artisan was never dialled
    assert http.requests[-1]["url"].endswith(f"/Calls/{'CA' + 'c' * 32}.json")
    attempt = db.session.scalar(select(CallAttempt))
    assert attempt.ended_at is not None and attempt.outcome is None
    assert request_by_id(request.id).status == "queued"  # back in the queue, no failed attempt counted
    assert request_by_id(request.id).failed_attempts == 0


def test_the_agent_corrects_an_automatic_no_answer_within_the_hour(twilio_app):
    from chamber_callback.services.assignment import AssignmentConflict, correct_outcome

    use_http(twilio_app, [(201, {"sid": "CA" + "d" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    signed_post(twilio_app.test_client(), f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": "CA" + "e" * 32, "CallStatus": "completed", "CallDuration": "4"})
    assert request_by_id(request.id).status == "retry_wait"  # 4 s: taken as no answer
    other = make_staff()
    with pytest.raises(AssignmentConflict):
        correct_outcome(attempt.id, other, "reached_resolved", T0 + timedelta(minutes=5))
    corrected = correct_outcome(attempt.id, agent, "reached_resolved", T0 + timedelta(minutes=5),
                                note="Elle a rappelé aussitôt")
    assert (corrected.status, corrected.failed_attempts, corrected.first_reached_at) == ("completed", 0, T0)
    attempt = db.session.get(CallAttempt, attempt.id)
    assert attempt.outcome == "reached_resolved" and "Elle a rappelé aussitôt" in attempt.note
    with pytest.raises(AssignmentConflict):
        correct_outcome(attempt.id, agent, "no_answer", T0 + timedelta(minutes=6))  # only while it waits


def test_a_late_machine_detection_still_makes_it_voicemail(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "f" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    client = twilio_app.test_client()
    leg = "CA" + "0" * 31 + "1"
    signed_post(client, f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": leg, "CallStatus": "completed", "CallDuration": "25"})
    assert db.session.get(CallAttempt, attempt.id).ended_at is None  # 25 s: looked like a conversation
    signed_post(client, f"/webhooks/twilio/amd?attempt={attempt.id}",
                {"CallSid": leg, "AnsweredBy": "machine_end_beep"})
    db.session.expire_all()
    assert db.session.get(CallAttempt, attempt.id).outcome == "voicemail"


def test_agent_hanging_up_without_pressing_1_gives_the_request_back(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "0" * 31 + "2", "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    signed_post(twilio_app.test_client(), f"/webhooks/twilio/status?attempt={attempt.id}&leg=agent",
                {"CallSid": "CA" + "0" * 31 + "2", "CallStatus": "completed", "CallDuration": "6"})
    request = request_by_id(request.id)
    assert (request.status, request.failed_attempts) == ("queued", 0)


def test_a_conversation_in_progress_is_never_taken_back_as_stuck(twilio_app):
    from chamber_callback.services.calls import reconcile_stuck_calls

    http = use_http(twilio_app, [(201, {"sid": "CA" + "0" * 31 + "3", "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    signed_post(twilio_app.test_client(), f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": "CA" + "0" * 31 + "4", "CallStatus": "in-progress"})
    assert reconcile_stuck_calls(T0 + timedelta(hours=2)) == 0
    assert len(http.requests) == 1  # not even asked: a person answered, the agent records it
    assert request_by_id(request.id).status == "in_call"


def test_dial_done_hangs_up_with_a_word_for_the_agent(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "0" * 31 + "5", "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    client = twilio_app.test_client()
    dial_done = f"/webhooks/twilio/voice/dial-done?attempt={attempt.id}"
    missed = signed_post(client, dial_done, {"DialCallStatus": "no-answer"})
    root = ET.fromstring(missed.data)
    assert "n'a pas répondu" in root.find("Say").text and root.find("Hangup") is not None
    talked = signed_post(client, dial_done, {"DialCallStatus": "completed"})
    assert ET.fromstring(talked.data).find("Say") is None
    assert signed_post(client, "/webhooks/twilio/voice/dial-done?attempt=999999", {}).status_code == 404


def test_a_correction_moves_the_request_on_like_any_outcome(twilio_app, redis_conn):
    """Before: a correction to « pas de réponse » scheduled no retry job, and a correction that made
    the request unreachable sent the artisan no message (only the console's own outcome did)."""
    from chamber_callback.models import ArtisanMessage
    from chamber_callback.queues import ASSIGNMENT_QUEUE, get_queue
    from chamber_callback.services import settings
    from chamber_callback.services.assignment import correct_outcome

    use_http(twilio_app, [(201, {"sid": "CA" + "7" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    signed_post(twilio_app.test_client(), f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": "CA" + "8" * 32, "CallStatus": "completed", "CallDuration": "30"})
    record_answered_by(attempt.id, "machine_end_beep", T0 + timedelta(minutes=1))
    assert request_by_id(request.id).status == "retry_wait"  # a machine: voicemail, retried

    later = T0 + timedelta(minutes=10)
    corrected = correct_outcome(attempt.id, agent, "no_answer", later, note="En fait ça sonnait dans le vide")
    assert (corrected.status, corrected.failed_attempts) == ("retry_wait", 1)
    assert corrected.next_attempt_at == later + timedelta(minutes=30)
    scheduled = ScheduledJobRegistry(queue=get_queue(ASSIGNMENT_QUEUE, redis_conn)).get_job_ids()
    assert f"requeue-{request.id}-{int(corrected.next_attempt_at.timestamp())}" in scheduled

    # The chamber lowered the number of tries meanwhile: the corrected attempt was the last one.
    settings.update({"MAX_ATTEMPTS": 1}, Actor("system"), later)
    unreachable = correct_outcome(attempt.id, agent, "voicemail", later + timedelta(minutes=1))
    assert unreachable.status == "unreachable"
    message = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.request_id == request.id,
                                                             ArtisanMessage.kind == "unreachable"))
    assert message is not None and "pas pu vous joindre" in message.body


def test_the_console_corrects_an_automatic_outcome_into_a_follow_up(twilio_app):
    from tests.integration.test_staff_access import login

    use_http(twilio_app, [(201, {"sid": "CA" + "9" * 32, "status": "queued"})])
    agent, request = held_call()
    attempt = place_call(request.reference, agent, T0)
    signed_post(twilio_app.test_client(), f"/webhooks/twilio/status?attempt={attempt.id}&leg=artisan",
                {"CallSid": "CA" + "a" * 31 + "b", "CallStatus": "no-answer"})
    console = twilio_app.test_client()
    login(console, agent)
    page = console.get("/console").get_data(as_text=True)
    correction = page.split('class="correction"')[1].split("</form>")[0]
    assert 'name="follow_up_at"' in correction  # the time a follow-up needs can be given here too
    when = (datetime.now(UTC) + timedelta(days=1)).astimezone(ZoneInfo("Europe/Paris")).replace(second=0, microsecond=0)
    console.post(f"/console/appels/{attempt.id}/correction",
                 data={"outcome": "reached_follow_up", "follow_up_at": when.strftime("%Y-%m-%dT%H:%M")})
    corrected = request_by_id(request.id)
    assert corrected.status == "scheduled" and corrected.next_attempt_at == when.astimezone(UTC)
    assert corrected.preferred_agent_id == agent.id
