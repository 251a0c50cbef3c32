"""The assignment engine end to end: real database, real Redis, jobs run by SimpleWorker."""
from datetime import timedelta

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallAttempt, Offer
from chamber_callback.queues import ASSIGNMENT_QUEUE, get_queue
from chamber_callback.services import assignment as engine
from tests.integration.helpers import T0, make_request, make_staff, reload, request_by_id


def pending_offers():
    db.session.expire_all()
    return db.session.scalars(select(Offer).where(Offer.status == "pending")).all()


def test_submission_is_offered_to_an_available_agent_with_the_skill(app, run_jobs, redis_conn):
    make_staff(skills=["aides"])                       # no skill for pge
    make_staff(unit="sud-est")                         # other unit
    agent = make_staff(skills=["pge"])
    request = make_request(topic="pge")
    run_jobs()
    [offer] = pending_offers()
    assert (offer.agent_id, offer.request_id) == (agent.id, request.id)
    assert offer.expires_at - offer.created_at == timedelta(seconds=120)
    request = request_by_id(request.id)
    assert (request.status, request.assigned_agent_id) == ("offered", agent.id)
    # the expiry is scheduled with RQ's scheduler
    scheduled = ScheduledJobRegistry(queue=get_queue(ASSIGNMENT_QUEUE, redis_conn)).get_job_ids()
    assert f"offer-exp-{offer.id}" in scheduled


def test_full_cycle_accept_no_answer_retry_and_complete(app, run_jobs):
    agent = make_staff()
    request = make_request()
    run_jobs()
    [offer] = pending_offers()
    now = offer.created_at + timedelta(seconds=10)

    engine.accept_offer(offer.id, agent, now)
    assert request_by_id(request.id).status == "in_call"
    assert reload(agent).availability == "busy"

    attempt = engine.start_attempt(request.reference, agent, now)
    engine.record_outcome(attempt.id, agent, "no_answer", now + timedelta(minutes=2), note="Sonne dans le vide")
    request = request_by_id(request.id)
    assert request.status == "retry_wait"
    assert request.next_attempt_at == now + timedelta(minutes=32)
    assert (request.failed_attempts, request.assigned_agent_id) == (1, None)
    assert request.first_attempt_at == now
    assert reload(agent).availability == "available"

    assert engine.requeue_due(now + timedelta(minutes=31)) == []  # not yet
    assert engine.requeue_due(now + timedelta(minutes=33)) == [request.id]
    run_jobs()  # the requeue enqueued an assignment: offered again
    [offer] = pending_offers()
    engine.accept_offer(offer.id, agent, offer.created_at)
    attempt = engine.start_attempt(request.reference, agent, offer.created_at)
    engine.record_outcome(attempt.id, agent, "reached_resolved", offer.created_at + timedelta(minutes=5))
    request = request_by_id(request.id)
    assert request.status == "completed" and request.closed_at is not None

    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.request_id == request.id)
                                 .order_by(AuditEvent.id)).all()
    assert actions == ["request.submitted", "request.offered", "request.accepted", "attempt.started", "sla.met",
                       "attempt.no_answer", "request.requeued", "request.offered", "request.accepted",
                       "attempt.started", "attempt.reached_resolved"]


def test_three_unanswered_attempts_make_the_request_unreachable(app):
    agent = make_staff()
    request = make_request()
    now = T0
    for attempt_number in range(1, 4):
        engine.requeue_due(now)
        taken = engine.claim_next(agent, now)
        assert taken.id == request.id
        attempt = engine.start_attempt(taken.reference, agent, now)
        engine.record_outcome(attempt.id, agent, "voicemail" if attempt_number == 2 else "no_answer", now)
        now += timedelta(minutes=31)
    request = request_by_id(request.id)
    assert (request.status, request.failed_attempts) == ("unreachable", 3)
    assert db.session.scalar(select(func.count()).select_from(CallAttempt)) == 3


def test_offer_expiry_goes_to_the_next_agent_and_sets_idle_agents_away(app, run_jobs):
    first = make_staff()
    second = make_staff()
    request = make_request()
    run_jobs()
    [offer] = pending_offers()
    assert offer.agent_id == first.id  # longest idle
    assert engine.expire_offer(offer.id, offer.expires_at - timedelta(seconds=1)) is False  # not due
    assert engine.expire_offer(offer.id, offer.expires_at) is True
    assert engine.expire_offer(offer.id, offer.expires_at) is False  # idempotent
    run_jobs()
    [offer2] = pending_offers()
    assert (offer2.agent_id, offer2.request_id) == (second.id, request.id)
    assert reload(first).missed_offers == 1 and reload(first).availability == "available"

    # the second agent lets two offers expire in a row: set away
    engine.set_availability(first, "offline", offer2.created_at)
    engine.expire_offer(offer2.id, offer2.expires_at)
    other = make_request()
    run_jobs()
    [mine] = pending_offers()  # both agents let "request" expire: only "other" is offered
    assert (mine.agent_id, mine.request_id) == (second.id, other.id)
    engine.expire_offer(mine.id, mine.expires_at)
    assert reload(second).missed_offers == 2
    assert reload(second).availability == "away"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "agent.availability",
                                                         AuditEvent.staff_user_id == second.id)).all()
    assert [(e.from_status, e.to_status, e.actor_type) for e in events] == [("available", "away", "system")]


def test_declined_offer_goes_to_the_next_candidate(app, run_jobs):
    first, second = make_staff(), make_staff()
    request = make_request()
    run_jobs()
    [offer] = pending_offers()
    engine.decline_offer(offer.id, first, offer.created_at, reason="pas le bon sujet")
    run_jobs()
    [offer2] = pending_offers()
    assert offer2.agent_id == second.id
    assert request_by_id(request.id).status == "offered"
    with pytest.raises(engine.AssignmentConflict):
        engine.accept_offer(offer.id, first, offer.created_at)  # declined offers stay declined


def test_expired_offer_cannot_be_accepted(app, run_jobs):
    agent = make_staff()
    make_request()
    run_jobs()
    [offer] = pending_offers()
    with pytest.raises(engine.AssignmentConflict):
        engine.accept_offer(offer.id, agent, offer.expires_at + timedelta(seconds=1))


def test_agent_becoming_available_is_offered_waiting_work_at_once(app):
    agent = make_staff(availability="offline")
    older = make_request(now=T0 - timedelta(hours=3))
    urgent = make_request(urgent=True)
    engine.set_availability(agent, "available", T0)
    [offer] = pending_offers()
    assert offer.request_id == urgent.id  # urgent first, without waiting for a tick
    assert older.id != urgent.id


def test_going_away_withdraws_the_pending_offer(app, run_jobs):
    agent = make_staff()
    request = make_request()
    run_jobs()
    engine.set_availability(agent, "away", T0)
    assert pending_offers() == []
    request = request_by_id(request.id)
    assert (request.status, request.assigned_agent_id) == ("queued", None)


def test_pull_takes_urgent_first_then_earliest_deadline(app):
    agent = make_staff(capacity=3)
    late = make_request(now=T0)
    early = make_request(now=T0 - timedelta(hours=5))
    urgent = make_request(urgent=True, now=T0)
    taken = [engine.claim_next(agent, T0).id for _ in range(3)]
    assert taken == [urgent.id, early.id, late.id]
    with pytest.raises(engine.AssignmentConflict):
        engine.claim_next(agent, T0)  # at capacity


def test_pull_with_nothing_waiting_returns_none(app):
    agent = make_staff()
    make_request(unit="sud-est")  # another unit, not overflowing
    assert engine.claim_next(agent, T0) is None


def test_waiting_too_long_overflows_to_other_units_keeping_its_deadline(app):
    elsewhere = make_staff(unit="sud-est", availability="offline")
    request = make_request(unit="idf-nord-om", now=T0)
    deadline = request.sla_deadline
    engine.set_availability(elsewhere, "available", T0 + timedelta(minutes=5))
    assert pending_offers() == []  # another unit: not yet
    counts = engine.dispatch_tick(T0 + timedelta(minutes=31))
    assert counts["overflowed"] == 1 and counts["offered"] == 1
    [offer] = pending_offers()
    assert offer.agent_id == elsewhere.id
    request = request_by_id(request.id)
    assert request.overflow_at == T0 + timedelta(minutes=31)
    assert request.sla_deadline == deadline


def test_follow_up_is_scheduled_and_returns_to_the_same_agent_first(app):
    first = make_staff(availability="available")
    request = make_request()
    engine.claim_next(first, T0)
    attempt = engine.start_attempt(request.reference, first, T0)
    later = T0 + timedelta(hours=4)
    engine.record_outcome(attempt.id, first, "reached_follow_up", T0 + timedelta(minutes=5),
                          note="Rappeler avec les chiffres", follow_up_at=later)
    request = request_by_id(request.id)
    assert (request.status, request.next_attempt_at, request.preferred_agent_id) == ("scheduled", later, first.id)
    engine.set_availability(first, "offline", T0 + timedelta(minutes=6))
    other = make_staff()  # longer idle than nobody: would be chosen otherwise
    engine.set_availability(first, "available", later - timedelta(minutes=1))
    assert engine.requeue_due(later) == [request.id]
    engine.assign_request(request.id, later)
    [offer] = pending_offers()
    assert offer.agent_id == first.id != other.id


def test_portfolio_affinity_prefers_the_agent_who_already_called_this_artisan(app):
    known = make_staff(availability="offline")
    other = make_staff()
    old = make_request(phone="+33612121212", siret="73282932000074")
    engine.claim_next(other, T0)  # "other" handles the first request
    attempt = engine.start_attempt(old.reference, other, T0)
    engine.record_outcome(attempt.id, other, "reached_resolved", T0)
    engine.set_availability(known, "available", T0)  # nothing waiting: no offer
    new = make_request(phone="+33698989898", siret="73282932000074", now=T0 + timedelta(days=1))
    agent_id = engine.assign_request(new.id, T0 + timedelta(days=1))
    assert agent_id == other.id  # same SIRET, although "known" is idle for longer


def test_attempt_needs_the_request_in_hand_and_only_one_at_a_time(app):
    agent, intruder = make_staff(capacity=2), make_staff()
    request = make_request()
    with pytest.raises(engine.AssignmentConflict):
        engine.start_attempt(request.reference, agent, T0)  # not taken yet
    engine.claim_next(agent, T0)
    with pytest.raises(engine.AssignmentConflict):
        engine.start_attempt(request.reference, intruder, T0)
    attempt = engine.start_attempt(request.reference, agent, T0)
    with pytest.raises(engine.AssignmentConflict):
        engine.start_attempt(request.reference, agent, T0)  # never two attempts in progress
    with pytest.raises(engine.AssignmentConflict):
        engine.record_outcome(attempt.id, intruder, "reached_resolved", T0)
    engine.record_outcome(attempt.id, agent, "reached_resolved", T0)
    with pytest.raises(engine.AssignmentConflict):
        engine.record_outcome(attempt.id, agent, "reached_resolved", T0)  # recorded once


def test_release_puts_the_request_back_in_the_queue(app):
    agent = make_staff()
    request = make_request()
    engine.claim_next(agent, T0)
    other = make_staff()
    engine.release_request(request.reference, agent, T0, reason="pas le bon interlocuteur")
    request = request_by_id(request.id)
    assert request.status == "queued" and request.assigned_agent_id is None
    assert reload(agent).availability == "available"
    engine.assign_request(request.id, T0)
    assert request_by_id(request.id).assigned_agent_id == other.id  # someone else first


def test_cancelled_while_offered_withdraws_from_the_agent(app, client, run_jobs, valid_json):
    make_staff(unit="sud-est")
    token = client.post("/api/v1/callback-requests", json=valid_json).get_json()["token"]
    run_jobs()
    [offer] = pending_offers()
    assert client.delete(f"/api/v1/callback-requests/{token}").status_code == 200
    agent = db.session.get(type(offer.agent), offer.agent_id)
    with pytest.raises(engine.AssignmentConflict):
        engine.accept_offer(offer.id, agent, offer.created_at)


def test_tick_repairs_lost_expiry_and_retry_jobs(app, run_jobs, redis_conn):
    agent = make_staff()
    request = make_request()
    run_jobs()
    redis_conn.flushdb()  # the scheduled expiry job is lost
    [offer] = pending_offers()
    counts = engine.dispatch_tick(offer.expires_at + timedelta(seconds=1))
    assert counts["expired"] == 1
    # the same agent is not offered the request again right away (it let it expire)
    assert request_by_id(request.id).status == "queued"
    assert reload(agent).missed_offers == 1


def test_cancelled_offer_is_withdrawn_and_not_counted_as_a_miss(app, client, run_jobs, valid_json):
    agent = make_staff(unit="sud-est")
    token = client.post("/api/v1/callback-requests", json=valid_json).get_json()["token"]
    run_jobs()
    [offer] = pending_offers()
    client.delete(f"/api/v1/callback-requests/{token}")
    db.session.expire_all()
    assert db.session.get(Offer, offer.id).status == "withdrawn"
    assert engine.expire_offer(offer.id, offer.expires_at) is False
    assert reload(agent).missed_offers == 0


def test_going_offline_gives_back_calls_not_yet_dialled(app):
    agent = make_staff(capacity=2)
    dialled, waiting = make_request(), make_request(now=T0 + timedelta(minutes=1))
    engine.claim_next(agent, T0)
    engine.claim_next(agent, T0)
    engine.start_attempt(dialled.reference, agent, T0)
    engine.set_availability(agent, "offline", T0)
    assert request_by_id(waiting.id).status == "queued"  # back in the queue for someone else
    assert request_by_id(dialled.id).status == "in_call"  # being dialled: kept until its outcome
    assert reload(agent).availability == "offline"


def test_next_call_is_offered_as_soon_as_the_outcome_is_recorded(app):
    agent = make_staff()
    first, second = make_request(), make_request(now=T0 + timedelta(minutes=1))
    engine.claim_next(agent, T0)
    attempt = engine.start_attempt(first.reference, agent, T0)
    engine.record_outcome(attempt.id, agent, "reached_resolved", T0 + timedelta(minutes=3))
    [offer] = pending_offers()
    assert (offer.agent_id, offer.request_id) == (agent.id, second.id)


def test_a_declining_agent_is_skipped_for_a_while_only(app, run_jobs):
    agent = make_staff()
    request = make_request()
    run_jobs()
    [offer] = pending_offers()
    engine.decline_offer(offer.id, agent, offer.created_at)
    assert engine.assign_request(request.id, offer.created_at + timedelta(minutes=1)) is None
    assert engine.assign_request(request.id, offer.created_at + timedelta(minutes=16)) == agent.id


def test_pulling_ignores_a_recent_decline(app, run_jobs):
    agent = make_staff()
    request = make_request()
    run_jobs()
    [offer] = pending_offers()
    engine.decline_offer(offer.id, agent, offer.created_at)
    assert engine.claim_next(agent, offer.created_at).id == request.id  # the agent changed its mind


def test_one_proposal_at_a_time_even_with_room_for_more(app):
    agent = make_staff(capacity=3, availability="offline")
    make_request()
    make_request()
    engine.set_availability(agent, "available", T0)
    assert len(pending_offers()) == 1
    assert engine.dispatch_tick(T0)["offered"] == 0


def test_artisan_history_is_limited_to_what_the_agent_may_see(app):
    from chamber_callback.presenters import artisan_history

    agent = make_staff(unit="sud-est", availability="offline")
    elsewhere = make_request(unit="idf-nord-om", phone="+33611111111")
    elsewhere.status = "completed"
    here = make_request(unit="sud-est", phone="+33611111111")
    db.session.commit()
    assert artisan_history(here, agent) == []  # the other unit's request stays private
    manager = make_staff(role="manager")
    assert [r.id for r in artisan_history(here, manager)] == [elsewhere.id]


def test_an_agents_own_follow_up_comes_before_older_waiting_requests(app):
    agent = make_staff(capacity=2)
    follow_up = make_request(now=T0)
    engine.claim_next(agent, T0)
    attempt = engine.start_attempt(follow_up.reference, agent, T0)
    engine.record_outcome(attempt.id, agent, "reached_follow_up", T0, follow_up_at=T0 + timedelta(hours=1))
    engine.set_availability(agent, "offline", T0)
    make_request(urgent=True, now=T0 - timedelta(hours=5))  # older and urgent, but not promised to anyone
    engine.requeue_due(T0 + timedelta(hours=1))
    taken = engine.claim_next(agent, T0 + timedelta(hours=1))
    assert taken.id == follow_up.id


def test_an_agent_who_declines_is_offered_the_next_request_at_once(app, run_jobs):
    """Before: after declining, the agent waited for the periodic tick (up to 15 s) for its next offer."""
    agent = make_staff()
    first = make_request(now=T0 - timedelta(minutes=2))
    run_jobs()
    second = make_request(now=T0 - timedelta(minutes=1))  # waits: the agent holds an offer
    [offer] = pending_offers()
    assert offer.request_id == first.id
    engine.decline_offer(offer.id, agent, offer.created_at + timedelta(seconds=5))
    [next_offer] = pending_offers()  # no job run, no tick: offered by the decline itself
    assert (next_offer.agent_id, next_offer.request_id) == (agent.id, second.id)


def test_two_missed_offers_set_the_agent_away_within_seconds(app, run_jobs):
    """With short offers, the first expiry used to leave the agent « Disponible » until the next
    tick; now the next offer comes with the expiry, and the second miss sets the agent away."""
    agent = make_staff()
    first, second = make_request(now=T0 - timedelta(minutes=2)), make_request(now=T0 - timedelta(minutes=1))
    run_jobs()
    [offer] = pending_offers()
    assert offer.request_id == first.id
    assert engine.expire_offer(offer.id, offer.expires_at) is True
    [next_offer] = pending_offers()  # offered at the expiry, not at the next tick
    assert (next_offer.agent_id, next_offer.request_id) == (agent.id, second.id)
    assert next_offer.created_at == offer.expires_at
    assert engine.expire_offer(next_offer.id, next_offer.expires_at) is True
    agent = reload(agent)
    assert (agent.availability, agent.missed_offers) == ("away", 2)
    assert agent.availability_since == next_offer.expires_at
    assert pending_offers() == []  # an absent agent is offered nothing
