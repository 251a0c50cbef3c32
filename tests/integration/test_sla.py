"""The SLA tracker with a frozen clock: each level once, the right people told, nothing after the call."""
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from chamber_callback.domain.escalation import parse_levels
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, Escalation, Notification, Offer
from chamber_callback.notify.email import MailError
from chamber_callback.services import assignment as engine
from chamber_callback.services.notifications import send_pending_emails
from chamber_callback.services.sla import sla_tick
from tests.conftest import make_app
from tests.integration.helpers import T0, make_request, make_staff, request_by_id, run_at_once, sign_in


def levels(request_id):
    db.session.expire_all()
    return db.session.scalars(select(Escalation.level).where(Escalation.request_id == request_id)
                              .order_by(Escalation.id)).all()


def notified(kind):
    return sorted(db.session.scalars(select(Notification.user_id).where(Notification.kind == kind)))


@pytest.fixture
def people(app):
    senior = make_staff(role="senior", availability="offline")
    other_senior = make_staff(role="senior", unit="sud-est", availability="offline")
    managers = [make_staff(role="manager"), make_staff(role="manager")]
    return senior, other_senior, managers


def test_each_level_fires_once_at_50_75_100_percent_and_repeats(app, people):
    senior, _other_senior, managers = people
    request = make_request(now=T0)
    deadline = request.sla_deadline
    assert request.next_escalation_at == T0 + timedelta(hours=12)

    assert sla_tick(T0 + timedelta(hours=11, minutes=59))["fired"] == 0
    assert sla_tick(T0 + timedelta(hours=12))["fired"] == 1
    request = request_by_id(request.id)
    assert (levels(request.id), request.priority) == (["half"], 1)
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 0  # priority only

    sla_tick(T0 + timedelta(hours=18))
    assert levels(request.id) == ["half", "senior"]
    assert notified("escalation.senior") == [senior.id]  # the unit's senior, not another unit's

    sla_tick(T0 + timedelta(hours=24))
    request = request_by_id(request.id)
    assert levels(request.id) == ["half", "senior", "breach"]
    assert notified("escalation.breach") == sorted(m.id for m in managers)
    assert request.priority == 2 and request.overflow_at == T0 + timedelta(hours=24)
    assert request.sla_deadline == deadline  # overflow never moves the deadline

    assert sla_tick(T0 + timedelta(hours=24, minutes=30))["fired"] == 0  # nothing twice
    sla_tick(T0 + timedelta(hours=28))
    assert levels(request.id)[-1] == "breach+1"
    assert notified("escalation.breach+1") == sorted(m.id for m in managers)
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("sla.%"))).all()
    assert actions == ["sla.half", "sla.senior", "sla.breach", "sla.breach+1"]


def test_a_late_tick_fires_every_missed_level_once(app, people):
    request = make_request(now=T0)
    counts = sla_tick(T0 + timedelta(hours=30))
    assert levels(request.id) == ["half", "senior", "breach", "breach+1"]
    assert counts["fired"] == 4
    assert request_by_id(request.id).next_escalation_at == T0 + timedelta(hours=32)


def test_two_concurrent_ticks_fire_each_level_exactly_once(app, people):
    _senior, _other, managers = people
    for index in range(10):
        make_request(now=T0 - timedelta(minutes=index))
    run_at_once(app, lambda _index: sla_tick(T0 + timedelta(hours=25)), 3)
    assert db.session.scalar(select(func.count()).select_from(Escalation)) == 30  # 10 × half, senior, breach
    assert len(notified("escalation.senior")) == 10
    assert len(notified("escalation.breach")) == 10 * len(managers)
    statuses = db.session.scalars(select(Notification.email_attempts)).all()
    assert statuses == [1] * (10 + 10 * len(managers))  # each e-mailed exactly once


def test_nothing_is_escalated_after_cancellation_or_completion(app, client, people, valid_json):
    token = client.post("/api/v1/callback-requests", json=valid_json).get_json()["token"]
    client.delete(f"/api/v1/callback-requests/{token}")
    agent = make_staff()
    done = make_request(now=T0)
    engine.claim_next(agent, T0)
    attempt = engine.start_attempt(done.reference, agent, T0 + timedelta(hours=1))
    engine.record_outcome(attempt.id, agent, "reached_resolved", T0 + timedelta(hours=1))
    assert sla_tick(T0 + timedelta(days=3))["fired"] == 0
    assert db.session.scalar(select(func.count()).select_from(Escalation)) == 0


def test_first_attempt_records_the_sla_and_resolves_escalations(app, people):
    senior, _other, _managers = people
    agent = make_staff(availability="offline")
    request = make_request(now=T0)
    sla_tick(T0 + timedelta(hours=19))  # half + senior fired
    engine.set_availability(agent, "available", T0 + timedelta(hours=20))
    pending = db.session.scalar(select(Offer).where(Offer.status == "pending"))
    assert pending.request_id == request.id
    engine.accept_offer(pending.id, agent, pending.created_at)
    engine.start_attempt(request.reference, agent, T0 + timedelta(hours=20, minutes=5))
    request = request_by_id(request.id)
    assert request.sla_met is True
    assert request.time_to_first_attempt_s == (20 * 60 + 5) * 60
    assert request.next_escalation_at is None
    assert all(e.resolved_at is not None for e in db.session.scalars(select(Escalation)))
    assert notified("escalation.resolved") == [senior.id]  # the people told are told it is over
    assert sla_tick(T0 + timedelta(days=2))["fired"] == 0


def test_a_first_attempt_after_the_deadline_is_a_missed_sla(app):
    agent = make_staff()
    request = make_request(now=T0)
    engine.claim_next(agent, T0)
    engine.start_attempt(request.reference, agent, T0 + timedelta(hours=24, seconds=1))
    assert request_by_id(request.id).sla_met is False
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action.like("sla.m%"))) == "sla.missed"


def test_met_on_first_reach_ignores_unanswered_attempts(_migrated):
    app = make_app(SLA_MET_ON="first_reach")
    with app.app_context():
        agent = make_staff()
        request = make_request(now=T0)
        for minutes in (10, 50):
            engine.requeue_due(T0 + timedelta(minutes=minutes))
            engine.claim_next(agent, T0 + timedelta(minutes=minutes))
            attempt = engine.start_attempt(request.reference, agent, T0 + timedelta(minutes=minutes))
            outcome = "no_answer" if minutes == 10 else "reached_resolved"
            engine.record_outcome(attempt.id, agent, outcome, T0 + timedelta(minutes=minutes + 2))
            if minutes == 10:
                assert request_by_id(request.id).sla_met is None
        request = request_by_id(request.id)
        assert request.sla_met is True and request.first_reached_at == T0 + timedelta(minutes=52)
        assert request.time_to_first_attempt_s == 600
        for table in ("audit_events", "call_attempts", "offers", "callback_requests", "agent_skills", "staff_users"):
            db.session.execute(db.text(f"DELETE FROM {table}"))
        db.session.commit()


def test_business_clock_counts_only_opening_hours(_migrated):
    app = make_app(SLA_CLOCK="business")
    with app.app_context():
        night = datetime(2026, 11, 24, 23, 30, tzinfo=ZoneInfo("Europe/Paris"))
        request = make_request(now=night)
        assert request.sla_deadline == datetime(2026, 11, 26, 19, 0, tzinfo=ZoneInfo("Europe/Paris"))
        # half of 24 open hours: Wednesday 08:00 + 12 h
        assert request.next_escalation_at == datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("Europe/Paris"))
        db.session.execute(db.text("DELETE FROM audit_events"))
        db.session.execute(db.text("DELETE FROM callback_requests"))
        db.session.commit()


def test_emails_are_sent_after_commit_and_retried_only_when_they_failed(app, people, monkeypatch):
    senior, _other, _managers = people
    mail_log = Path(app.config["MAIL_LOG"])
    mail_log.unlink(missing_ok=True)
    request = make_request(now=T0)
    from chamber_callback.notify import get_mailer

    mailer = get_mailer()
    calls = []

    def broken(to, subject, body):
        calls.append(to)
        raise MailError("connection refused")

    monkeypatch.setattr(mailer, "send", broken)
    sla_tick(T0 + timedelta(hours=18))
    note = db.session.scalar(select(Notification).where(Notification.kind == "escalation.senior"))
    assert (note.email_status, note.email_attempts) == ("failed", 1)
    monkeypatch.undo()
    assert send_pending_emails() == {"sent": 1, "failed": 0}
    db.session.expire_all()
    assert db.session.get(Notification, note.id).email_status == "sent"
    assert send_pending_emails() == {"sent": 0, "failed": 0}  # never twice
    text = mail_log.read_text(encoding="utf-8")
    assert senior.email in text and request.reference in text
    assert request.phone not in text and request.name not in text  # no personal data by e-mail


def test_senior_sees_the_units_at_risk_list_and_notifications(app, people):
    senior, _other, _managers = people
    fresh = make_request(now=T0)
    late = make_request(now=T0 - timedelta(hours=19))  # the page reads the real clock
    sla_tick(T0)
    client = app.test_client()
    sign_in(client, senior)
    page = client.get("/equipe").get_data(as_text=True)
    at_risk = page.split("À risque")[1].split("Conseillers")[0]
    assert late.reference in at_risk and fresh.reference not in at_risk
    assert 'class="badge count"' in page  # unread notifications in the navigation
    notes = client.get("/notifications").get_data(as_text=True)
    assert f"Demande {late.reference} : 75 % du délai écoulé" in notes
    client.post("/notifications/lues")
    assert 'class="badge count"' not in client.get("/equipe").get_data(as_text=True)


def test_emails_claimed_by_a_worker_are_not_sent_again(app, people):
    make_request(now=T0)
    sla_tick(T0 + timedelta(hours=18))  # the senior's notification is e-mailed after the commit
    note = db.session.scalar(select(Notification).where(Notification.kind == "escalation.senior"))
    assert note.email_status == "sent" and note.email_attempts == 1
    # a worker died while sending another one: it is taken again only after the timeout
    note.email_status, note.emailed_at = "sending", datetime.now(ZoneInfo("UTC"))
    db.session.commit()
    assert send_pending_emails() == {"sent": 0, "failed": 0}
    note.emailed_at = datetime.now(ZoneInfo("UTC")) - timedelta(minutes=11)
    db.session.commit()
    assert send_pending_emails() == {"sent": 1, "failed": 0}


def test_cancelling_an_escalated_request_tells_who_was_told(app, client, people, valid_json):
    _senior, other_senior, _managers = people
    token = client.post("/api/v1/callback-requests", json=valid_json).get_json()["token"]  # unit sud-est
    created = request_by_id(db.session.scalar(select(AuditEvent.request_id).where(AuditEvent.request_id.is_not(None))))
    sla_tick(created.submitted_at + timedelta(hours=19))
    assert notified("escalation.senior") == [other_senior.id]
    assert client.delete(f"/api/v1/callback-requests/{token}").status_code == 200
    db.session.expire_all()
    assert all(e.resolved_at is not None for e in db.session.scalars(select(Escalation)))
    resolved = db.session.scalar(select(Notification).where(Notification.kind == "escalation.resolved"))
    assert resolved.user_id == other_senior.id and "annulée" in resolved.title


def test_a_closed_day_moves_the_deadline_of_waiting_requests(_migrated):
    app = make_app(SLA_CLOCK="business")
    with app.app_context():
        try:
            tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
            request = make_request(now=tuesday)
            assert request.sla_deadline == datetime(2026, 11, 25, 21, 0, tzinfo=ZoneInfo("Europe/Paris"))
            result = app.test_cli_runner().invoke(args=["closed-day", "2026-11-25", "--reason", "Inondations"])
            assert "1 waiting request(s) got a later deadline" in result.output
            assert request_by_id(request.id).sla_deadline == datetime(2026, 11, 26, 21, 0,
                                                                      tzinfo=ZoneInfo("Europe/Paris"))
        finally:
            for table in ("audit_events", "closed_days", "callback_requests"):
                db.session.execute(db.text(f"DELETE FROM {table}"))
            db.session.commit()


def test_levels_come_from_configuration_and_a_unit_without_senior_alerts_managers(_migrated):
    app = make_app(ESCALATION_LEVELS=parse_levels("early@25:senior"))
    with app.app_context():
        try:
            manager = make_staff(role="manager")
            request = make_request(now=T0)  # idf-nord-om has no senior here
            assert request.next_escalation_at == T0 + timedelta(hours=6)
            sla_tick(T0 + timedelta(hours=6))
            assert levels(request.id) == ["early"]
            assert notified("escalation.early") == [manager.id]
        finally:
            for table in ("notifications", "escalations", "audit_events", "callback_requests", "agent_skills",
                          "staff_users"):
                db.session.execute(db.text(f"DELETE FROM {table}"))
            db.session.commit()
