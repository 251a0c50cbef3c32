"""Campaign calls go through the same engine as callbacks: offers, claims, attempts, outcomes and
retries, with the campaign rules (callbacks first, the share of agents, the window, the portfolio
agent, « Ne plus m'appeler ») and the answers, the progress and the conversion to a request."""
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select

from chamber_callback.domain.campaigns import CampaignError, Priority, Result
from chamber_callback.domain.lifecycle import Status
from chamber_callback.extensions import db
from chamber_callback.models import ArtisanMessage, AuditEvent, CallbackRequest, CallOptOut, CampaignAnswer, Offer
from chamber_callback.services import assignment, campaigns, stats
from chamber_callback.services.needs_report import campaign_answer_facts

from .campaign_helpers import make_campaign, make_contact
from .helpers import T0, make_request, make_staff, reload, run_at_once

NOW = T0


def _next_offer(agent, now=NOW):
    """The agent's pending offer (the engine offers the next call as soon as one ends), or a new one."""
    pending = db.session.scalar(select(Offer).where(Offer.agent_id == agent.id, Offer.status == "pending"))
    return pending or assignment.offer_next_to_agent(agent.id, now)


def _take(agent, now=NOW):
    """The agent is offered its next call and accepts it; returns the request."""
    offer = _next_offer(agent, now)
    assert offer is not None
    return assignment.accept_offer(offer.id, reload(agent), now)


def _call(agent, request, outcome, now=NOW, **extra):
    attempt = assignment.start_attempt(request.id, reload(agent), now)
    return assignment.record_outcome(attempt.id, reload(agent), outcome, now + timedelta(minutes=3), **extra)


def test_a_campaign_call_is_offered_when_no_callback_waits(app):
    campaign = make_campaign()
    contact = make_contact(campaign)
    agent = make_staff()
    offer = assignment.offer_next_to_agent(agent.id, NOW)
    assert offer is not None and offer.request_id == contact.id
    assert reload(contact).status == Status.OFFERED


def test_callbacks_come_first_and_the_campaign_waits(app):
    campaign = make_campaign()
    contact = make_contact(campaign)
    waiting = make_request()
    agent = make_staff(availability="offline")
    db.session.execute(CallbackRequest.__table__.update().values(assignment_checked_at=NOW))
    agent.availability = "available"
    db.session.commit()
    offer = assignment.offer_next_to_agent(agent.id, NOW)
    assert offer.request_id == waiting.id
    assignment.decline_offer(offer.id, reload(agent), NOW)
    # Declined, the callback still waits for someone else: the campaign still does not go first.
    pending = db.session.scalar(select(Offer).where(Offer.agent_id == agent.id, Offer.status == "pending"))
    assert pending is None or pending.request_id != contact.id
    assert reload(contact).status == Status.QUEUED


def test_a_shared_campaign_is_offered_alongside_waiting_callbacks(app):
    campaign = make_campaign(priority=Priority.SHARED)
    contact = make_contact(campaign)
    agent = make_staff(skills=["aides"])  # cannot take the pge request waiting: only the campaign's call
    make_request(topic="pge")
    offer = assignment.offer_next_to_agent(agent.id, NOW)
    assert offer is not None and offer.request_id == contact.id


def test_callbacks_keep_their_priority_under_load(app):
    """Ten callbacks and ten campaign contacts, three agents working until everything is called: every
    callback is offered before the first campaign call."""
    campaign = make_campaign()
    contacts = [make_contact(campaign) for _ in range(10)]
    callbacks = [make_request(now=NOW - timedelta(minutes=i)) for i in range(10)]
    agents = [make_staff() for _ in range(3)]
    order: list[int] = []
    for round_ in range(20):
        now = NOW + timedelta(minutes=5 * round_)
        for agent in agents:
            offer = _next_offer(agent, now)
            if offer is None:
                continue
            order.append(offer.request_id)
            request = assignment.accept_offer(offer.id, reload(agent), offer.created_at)
            _call(agent, request, "reached_resolved", offer.created_at)
    callback_ids, contact_ids = {r.id for r in callbacks}, {c.id for c in contacts}
    assert set(order) == callback_ids | contact_ids
    assert set(order[:10]) == callback_ids  # not one campaign call before the last callback was offered


def test_at_most_the_share_of_agents_is_on_campaign_calls(app):
    campaign = make_campaign(share=50)
    for _ in range(6):
        make_contact(campaign)
    agents = [make_staff() for _ in range(4)]
    offered = [assignment.offer_next_to_agent(agent.id, NOW) for agent in agents]
    assert sum(offer is not None for offer in offered) == 2  # 50 % of four agents on duty


def test_no_campaign_call_outside_its_window_or_when_paused(app):
    campaign = make_campaign(call_from=time(9, 0), call_until=time(12, 0))
    make_contact(campaign)
    agent = make_staff()
    night = campaigns.window_of(campaign).deadline().replace(hour=1) + timedelta(days=-1)  # 01:00 UTC: closed
    assert assignment.offer_next_to_agent(agent.id, night) is None
    campaigns.set_status(campaign.id, "paused", user_id=agent.id, now=NOW)
    morning = night.replace(hour=9)  # 10:00 or 11:00 in Paris: inside the window, but paused
    assert assignment.offer_next_to_agent(agent.id, morning) is None
    campaigns.set_status(campaign.id, "active", user_id=agent.id, now=NOW)
    assert assignment.offer_next_to_agent(agent.id, morning) is not None


def test_the_portfolio_agent_gets_the_call_first(app):
    campaign = make_campaign()
    usual, other = make_staff(), make_staff()
    contact = make_contact(campaign, preferred_agent_id=usual.id)
    assert assignment.offer_next_to_agent(other.id, NOW) is None  # held for its agent, who is signed in
    offer = assignment.offer_next_to_agent(usual.id, NOW)
    assert offer.request_id == contact.id
    assignment.decline_offer(offer.id, reload(usual), NOW)
    usual = reload(usual)
    usual.availability = "offline"
    db.session.commit()
    assert assignment.offer_next_to_agent(other.id, NOW).request_id == contact.id  # its agent is away


def test_two_agents_asking_at_once_never_get_the_same_contact(app):
    campaign = make_campaign()
    make_contact(campaign)
    agents = [make_staff().id for _ in range(6)]
    run_at_once(app, lambda i: assignment.offer_next_to_agent(agents[i], NOW), len(agents))
    assert db.session.scalar(select(func.count()).select_from(Offer).where(Offer.status == "pending")) == 1


def test_two_agents_pulling_at_once_take_one_contact_once(app):
    campaign = make_campaign()
    contact = make_contact(campaign)
    agents = [make_staff().id for _ in range(6)]
    taken = []

    def pull(i):
        from chamber_callback.models import StaffUser

        found = assignment.claim_next(db.session.get(StaffUser, agents[i]), NOW)
        taken.append(found.id if found else None)

    run_at_once(app, pull, len(agents))
    assert [t for t in taken if t is not None] == [contact.id]


def test_retries_use_the_campaign_attempts_and_gap_and_send_nothing(app):
    campaign = make_campaign(max_attempts=2, gap=30)
    contact = make_contact(campaign)
    agent = make_staff()
    request = _take(agent)
    after = _call(agent, request, "no_answer")
    assert after.status == Status.RETRY_WAIT
    assert after.next_attempt_at == NOW + timedelta(minutes=3 + 30)
    later = after.next_attempt_at
    assignment.requeue_due(later)
    request = _take(agent, later)
    assert _call(agent, request, "voicemail", later).status == Status.UNREACHABLE
    assert db.session.scalar(select(func.count()).select_from(ArtisanMessage)) == 0
    contact = reload(contact)
    assert contact.sla_met is None and contact.next_escalation_at is None


def test_answers_are_checked_and_stored_with_the_outcome(app):
    campaign = make_campaign()
    contact = make_contact(campaign)
    agent = make_staff()
    request = _take(agent)
    attempt = assignment.start_attempt(request.id, reload(agent), NOW)
    with pytest.raises(CampaignError) as error:
        assignment.record_outcome(attempt.id, reload(agent), "reached_resolved", NOW, answers={"q2": "beaucoup"})
    assert "q2" in error.value.errors
    assert reload(contact).status == Status.IN_CALL  # nothing written
    assignment.record_outcome(attempt.id, reload(agent), "reached_resolved", NOW,
                              answers={"q1": "Oui", "q2": "12", "q3": "Réduite"})
    assert campaigns.answers_of(contact.id) == {"q1": "oui", "q2": "12", "q3": "Réduite"}
    progress = campaigns.progress(campaign.id)
    assert progress.results[Result.REACHED] == 1
    assert progress.tallies[0].counts == {"oui": 1, "non": 0}
    assert progress.tallies[1].mean == 12


def test_do_not_call_is_honoured_by_a_later_campaign(app):
    first = make_campaign()
    contact = make_contact(first, phone="+33612345678")
    agent = make_staff()
    request = _take(agent)
    done = _call(agent, request, "reached_resolved", do_not_call=True)
    assert done.status == Status.COMPLETED
    assert db.session.get(CallOptOut, "+33612345678") is not None
    assert campaigns.progress(first.id).results[Result.REFUSED] == 1
    later = make_campaign()
    make_contact(later, phone="+33612345678")  # on a list imported elsewhere: still never offered
    assert _next_offer(agent, NOW + timedelta(minutes=10)) is None
    assert reload(contact).status == Status.COMPLETED


def test_a_reached_artisan_becomes_a_callback_request_keeping_the_history(app):
    campaign = make_campaign()
    contact = make_contact(campaign)
    agent = make_staff()
    request = _take(agent)
    _call(agent, request, "reached_resolved", answers={"q1": "oui"}, note="Besoin d'aide pour le PGE")
    made = campaigns.convert(contact.id, user=reload(agent), now=NOW + timedelta(minutes=5))
    assert made.campaign_id is None and made.origin_request_id == contact.id and made.status == Status.QUEUED
    assert made.sla_deadline > NOW and made.channel == "campaign"
    assert "Besoin d'aide pour le PGE" in made.description and "masques" in made.description
    assert campaigns.origin_of(made)[1].id == contact.id
    assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.request_id == contact.id,
                                                         AuditEvent.action == "campaign.converted"))
    with pytest.raises(campaigns.AlreadyRequested):
        campaigns.convert(contact.id, user=reload(agent), now=NOW + timedelta(minutes=6))
    assert campaigns.progress(campaign.id).converted == 1


def test_contacts_stay_out_of_the_callback_queue_figures(app):
    campaign = make_campaign()
    make_contact(campaign, phone="+33612345678")
    make_contact(campaign)
    # The same number may have a callback request in progress too (the contact is not a request).
    request = make_request(phone="+33612345678")
    assert request.campaign_id is None and request.status == Status.QUEUED
    breakdown = stats.active_breakdown(stats.Scope(), NOW)
    assert sum(row.waiting for row in breakdown.by_unit) == 1


def test_closing_a_campaign_takes_its_waiting_contacts_out(app):
    campaign = make_campaign()
    offered, waiting = make_contact(campaign), make_contact(campaign)
    agent = make_staff()
    offer = assignment.offer_next_to_agent(agent.id, NOW)
    assert offer.request_id == offered.id
    campaigns.set_status(campaign.id, "closed", user_id=agent.id, now=NOW)
    assert reload(offered).status == Status.CANCELLED and reload(waiting).status == Status.CANCELLED
    assert db.session.get(Offer, offer.id).status == "withdrawn"
    assert campaigns.progress(campaign.id).results[Result.WITHDRAWN] == 2
    with pytest.raises(CampaignError):
        campaigns.set_status(campaign.id, "active", user_id=agent.id, now=NOW)


def test_campaigns_past_their_period_are_closed(app):
    campaign = make_campaign(starts_on=(NOW - timedelta(days=5)).date(), ends_on=(NOW - timedelta(days=2)).date())
    contact = make_contact(campaign)
    assert campaigns.close_finished(NOW) == 1
    assert reload(campaign).status == "closed" and reload(contact).status == Status.CANCELLED
    assert campaigns.close_finished(NOW) == 0


def test_answers_count_in_the_prefecture_facts_once(app):
    campaign = make_campaign()
    agent = make_staff()
    contacts = [make_contact(campaign) for _ in range(2)]
    for _ in contacts:
        request = _take(agent)
        _call(agent, request, "reached_resolved", answers={"q1": "oui"})
    campaigns.convert(contacts[0].id, user=reload(agent), now=NOW + timedelta(minutes=30))
    facts = list(campaign_answer_facts(NOW - timedelta(days=1), NOW + timedelta(days=1), "Europe/Paris"))
    assert sum(fact.count for _day, fact in facts) == 1  # the converted one counts as its request
    assert {fact.topic for _day, fact in facts} == {"sanitaire"}
    assert db.session.scalar(select(func.count()).select_from(CampaignAnswer)) == 2


# --- the console -------------------------------------------------------------------------------------

def _console_call(client, agent):
    from .helpers import sign_in

    campaign = make_campaign()
    contact = make_contact(campaign)
    assert sign_in(client, agent).status_code == 302
    request = _take(agent)
    attempt = assignment.start_attempt(request.id, reload(agent), NOW)
    return campaign, contact, attempt


def test_the_call_card_shows_the_script_and_the_questions(app, client):
    from .test_public_form import text_of

    agent = make_staff()
    _campaign, contact, _attempt = _console_call(client, agent)
    page = text_of(client.get("/console"))
    assert "Appel en main" in page and contact.reference in page
    assert "Bonjour, ici la chambre…" in page and "Recenser les besoins en masques." in page
    assert "Avez-vous besoin de masques ?" in page and "Réduite" in page
    assert "Ne plus m'appeler" in page and "Échéance" not in page


def test_the_outcome_form_stores_the_answers_and_can_make_a_request(app, client):
    from .test_public_form import text_of

    agent = make_staff()
    campaign, contact, attempt = _console_call(client, agent)
    bad = client.post(f"/console/appels/{attempt.id}/resultat",
                      data={"outcome": "reached_resolved", "answer_q2": "douze"}, follow_redirects=True)
    assert "Indiquez un nombre." in text_of(bad)
    assert reload(contact).status == Status.IN_CALL and campaigns.answers_of(contact.id) == {}
    done = client.post(f"/console/appels/{attempt.id}/resultat", follow_redirects=True, data={
        "outcome": "reached_resolved", "answer_q1": "oui", "answer_q2": "12", "answer_q3": "Ouverte",
        "note": "A besoin d'un report de charges", "convert": "1"})
    made = db.session.scalar(select(CallbackRequest).where(CallbackRequest.origin_request_id == contact.id))
    assert made is not None and f"Demande de rappel {made.reference} créée" in text_of(done)
    assert campaigns.answers_of(contact.id) == {"q1": "oui", "q2": "12", "q3": "Ouverte"}
    card = text_of(client.get(f"/console/demandes/{made.reference}"))
    assert f"Issue de la campagne « {campaign.name} »" in card and contact.reference in card
    contact_page = text_of(client.get(f"/console/demandes/{contact.reference}"))
    assert "Avez-vous besoin de masques ? <strong>oui</strong>" in contact_page and made.reference in contact_page
    assert "Transformer en demande de rappel" not in contact_page  # already done


def test_the_contact_page_turns_a_contact_into_a_request_in_one_click(app, client):
    from .helpers import sign_in

    agent = make_staff()
    campaign = make_campaign()
    contact = make_contact(campaign)
    request = _take(agent)
    _call(agent, request, "reached_resolved")
    senior = make_staff(role="senior")
    assert sign_in(client, senior).status_code == 302
    assert "Transformer en demande de rappel" in client.get(f"/console/demandes/{contact.reference}").get_data(
        as_text=True)
    response = client.post(f"/console/demandes/{contact.reference}/demande-de-rappel")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)
                             .where(CallbackRequest.origin_request_id == contact.id)) == 1
    plain = make_request()
    assert client.post(f"/console/demandes/{plain.reference}/demande-de-rappel").status_code == 404
