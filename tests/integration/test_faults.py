"""The fast faults of bench/faults.py, in the suite: a double click on « Accepter » and on « Démarrer
l'appel », one agent's tabs pulling at once, and Twilio's status callbacks duplicated and out of
order at the same instant, racing the agent's own outcome. Nothing is ever counted twice.

Covered elsewhere: Redis down at submission and the reconciler after a flush
(test_queueing.py), a worker killed mid-job and agents pulling at once
(test_claim_concurrency.py), duplicate callbacks one after the other (test_telephony.py), the
database down (test_database_down.py).
"""
import contextlib

from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallAttempt, CallbackRequest, CallEvent, Offer, StaffUser
from chamber_callback.services import assignment as engine
from chamber_callback.services.calls import CallNotPlaced, place_call
from tests.integration.helpers import T0, make_request, make_staff, request_by_id, run_at_once
from tests.integration.twilio_fakes import signed_post, use_http


def events(action: str, **where) -> int:
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.session.scalar(query)


def agent_in_thread(agent_id: int) -> StaffUser:
    return db.session.get(StaffUser, agent_id)


def test_a_double_click_on_accept_accepts_once(app):
    agent = make_staff(availability="offline")
    request = make_request()
    engine.set_availability(agent, "available", T0)  # offered at once
    offer = db.session.scalar(select(Offer).where(Offer.status == "pending"))
    assert offer.request_id == request.id
    offer_id, agent_id, answers = offer.id, agent.id, []  # read here: the threads have their own sessions

    def accept(_index):
        try:
            engine.accept_offer(offer_id, agent_in_thread(agent_id), T0)
            answers.append("accepted")
        except engine.AssignmentConflict:
            answers.append("conflict")

    run_at_once(app, accept, 2)
    assert sorted(answers) == ["accepted", "conflict"]
    assert events("request.accepted", request_id=request.id) == 1
    assert request_by_id(request.id).status == "in_call"
    assert db.session.get(StaffUser, agent.id).availability == "busy"


def test_two_tabs_of_one_agent_pulling_at_once_take_one_call(app):
    agent = make_staff(availability="away", capacity=1)
    for _ in range(3):
        make_request()
    agent_id, taken, refused = agent.id, [], []

    def pull(_index):
        try:
            request = engine.claim_next(agent_in_thread(agent_id), T0)
            taken.append(request.id if request else None)
        except engine.AssignmentConflict:
            refused.append(True)

    run_at_once(app, pull, 3)
    assert len([t for t in taken if t is not None]) == 1 and len(refused) == 2
    held = db.session.scalar(select(func.count()).select_from(CallbackRequest).where(
        CallbackRequest.assigned_agent_id == agent.id, CallbackRequest.status == "in_call"))
    assert held == 1
    assert events("request.pulled", staff_user_id=agent.id) == 1


def held_call(app):
    agent = make_staff()
    agent.phone = "+33611223344"
    db.session.commit()
    request = make_request(now=T0)
    engine.claim_next(agent, T0)
    return agent, request


def test_a_double_click_on_call_places_one_call(twilio_app):
    http = use_http(twilio_app, [(201, {"sid": "CA" + "7" * 32, "status": "queued"})] * 2)
    agent, request = held_call(twilio_app)
    reference, agent_id, answers = request.reference, agent.id, []

    def call(_index):
        try:
            place_call(reference, agent_in_thread(agent_id), T0)
            answers.append("placed")
        except (engine.AssignmentConflict, CallNotPlaced):
            answers.append("refused")

    run_at_once(twilio_app, call, 2)
    assert sorted(answers) == ["placed", "refused"]
    assert db.session.scalar(select(func.count()).select_from(CallAttempt)) == 1
    assert len(http.requests) == 1  # Twilio asked once
    assert events("attempt.started", request_id=request.id) == 1


def test_status_callbacks_duplicated_and_out_of_order_at_once_count_one_failed_attempt(twilio_app):
    use_http(twilio_app, [(201, {"sid": "CA" + "8" * 32, "status": "queued"})])
    agent, request = held_call(twilio_app)
    attempt = place_call(request.reference, agent, T0)
    attempt_id, agent_id = attempt.id, agent.id
    url = f"/webhooks/twilio/status?attempt={attempt_id}&leg=artisan"
    statuses = ["initiated", "ringing", "no-answer", "no-answer", "ringing", "initiated", "no-answer"]
    codes = []

    def send(index):
        if index == len(statuses):  # the agent records « pas de réponse » in the same instant
            with contextlib.suppress(engine.AssignmentConflict):  # the callback may close it first
                engine.record_outcome(attempt_id, agent_in_thread(agent_id), "no_answer", T0)
            return
        form = {"CallSid": "CA" + "9" * 32, "CallStatus": statuses[index], "ParentCallSid": "CA" + "8" * 32}
        if statuses[index] == "no-answer":
            form["CallDuration"] = "0"
        codes.append(signed_post(twilio_app.test_client(), url, form).status_code)

    run_at_once(twilio_app, send, len(statuses) + 1)
    assert codes == [204] * len(statuses)
    db.session.expire_all()
    attempt = db.session.get(CallAttempt, attempt.id)
    assert (attempt.outcome, attempt.artisan_status) == ("no_answer", "no-answer") and attempt.ended_at is not None
    assert db.session.scalar(select(func.count()).select_from(CallEvent)) == 3  # one per distinct status
    request = request_by_id(request.id)
    assert (request.status, request.failed_attempts) == ("retry_wait", 1)  # counted once
    assert events("attempt.no_answer", request_id=request.id) == 1
