"""Personal data is erased after the retention period; report figures stay."""
from datetime import timedelta

from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallAttempt, CallbackRequest
from chamber_callback.services import assignment as engine
from chamber_callback.services.retention import purge_personal_data
from tests.integration.helpers import T0, make_request, make_staff, request_by_id


def test_closed_requests_past_retention_are_erased_once(app):
    agent = make_staff()
    old = make_request(now=T0 - timedelta(days=400), siret="73282932000074")
    engine.claim_next(agent, T0 - timedelta(days=400))
    attempt = engine.start_attempt(old.reference, agent, T0 - timedelta(days=400))
    engine.record_outcome(attempt.id, agent, "reached_resolved", T0 - timedelta(days=400),
                          note="Mme Dupont, 3 rue des Lilas, fille malade")
    recent_closed = make_request(now=T0 - timedelta(days=10))
    waiting_old = make_request(now=T0 - timedelta(days=400))
    db.session.get(CallbackRequest, recent_closed.id).status = "cancelled"
    db.session.get(CallbackRequest, recent_closed.id).closed_at = T0 - timedelta(days=10)
    db.session.commit()

    assert purge_personal_data(T0, 365, dry_run=True) == 1
    assert purge_personal_data(T0, 365) == 1
    assert purge_personal_data(T0, 365) == 0  # idempotent
    erased = request_by_id(old.id)
    assert (erased.name, erased.business_name, erased.phone, erased.siret, erased.email) == ("—", "—", "—", None, None)
    assert erased.description == "—" and erased.purged_at == T0
    assert (erased.status, erased.sla_met, erased.unit_id, erased.topic_id) == ("completed", True, old.unit_id,
                                                                                  old.topic_id)  # figures kept
    assert db.session.scalar(select(CallAttempt.note).where(CallAttempt.request_id == old.id)) is None
    reasons = db.session.scalars(select(AuditEvent.reason).where(AuditEvent.request_id == old.id)).all()
    assert not any("Dupont" in (reason or "") for reason in reasons)
    assert request_by_id(recent_closed.id).name != "—"
    assert request_by_id(waiting_old.id).name != "—"  # still waiting: kept whatever its age


def test_purge_command(app):
    result = app.test_cli_runner().invoke(args=["purge-personal-data", "--dry-run"])
    assert result.exit_code == 0 and "0 request(s) closed more than 365 days ago" in result.output
