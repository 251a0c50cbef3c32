"""The artisans' data (RGPD): legal basis on the form, access and erasure (pages, commands, the
status page), audited reads, retention by kind."""
import json
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from chamber_callback.clock import utcnow
from chamber_callback.domain.actors import Actor
from chamber_callback.extensions import db
from chamber_callback.models import ArtisanMessage, AuditEvent, CallAttempt, CallbackRequest
from chamber_callback.services import assignment, settings
from chamber_callback.services.retention import ERASED, purge_details
from tests.conftest import empty_tables, make_app
from tests.integration.helpers import make_request, make_staff, request_by_id, sign_in
from tests.integration.test_public_form import text_of

PHONE = "+33145678901"


def _called(now, phone=PHONE, note="Rappeler avec le bilan 2025"):
    """A request of this artisan, called once (a note), closed."""
    agent = make_staff()
    request = make_request(phone=phone, now=now - timedelta(hours=2))
    taken = assignment.claim_next(agent, now - timedelta(hours=1))
    attempt = assignment.start_attempt(taken.reference, agent, now - timedelta(hours=1))
    assignment.record_outcome(attempt.id, agent, "reached_resolved", now - timedelta(minutes=50), note=note)
    return request_by_id(request.id)


def _dpo_client(app):
    dpo = make_staff(role="dpo", availability="offline")
    client = app.test_client()
    assert sign_in(client, dpo).headers["Location"] == "/admin/donnees"
    client.dpo = dpo
    return client


def test_the_dpo_finds_exports_and_erases_one_artisans_data(app):
    now = utcnow()
    closed = _called(now)
    waiting = make_request(phone="+33612121212", now=now)  # someone else's: untouched
    client = _dpo_client(app)
    page = client.post("/admin/donnees/dossier", data={"phone": "01 45 67 89 01"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert closed.reference in html and "Rappeler avec le bilan 2025" in html and waiting.reference not in html
    export = client.post("/admin/donnees/export.json", data={"phone": "01 45 67 89 01"})
    body = json.loads(export.get_data(as_text=True))
    assert [r["reference"] for r in body["requests"]] == [closed.reference]
    assert body["requests"][0]["attempts"][0]["note"] == "Rappeler avec le bilan 2025"
    assert body["requests"][0]["timeline"] and body["requests"][0]["messages"]
    refused = client.post("/admin/donnees/effacer", data={"phone": "01 45 67 89 01"})
    assert refused.status_code == 422 and request_by_id(closed.id).purged_at is None  # not confirmed
    done = client.post("/admin/donnees/effacer", data={"phone": "01 45 67 89 01", "confirm": "y"})
    assert done.status_code == 302
    erased = request_by_id(closed.id)
    assert (erased.name, erased.phone, erased.description) == (ERASED, ERASED, ERASED)
    assert erased.sla_met is not None and erased.unit_id  # the figures stay
    assert db.session.scalar(select(CallAttempt.note).where(CallAttempt.request_id == closed.id)) is None
    assert request_by_id(waiting.id).name != ERASED
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("admin.%"))
                                                    .order_by(AuditEvent.id))]
    assert actions == ["admin.personal_data_viewed", "admin.personal_data_exported",
                       "admin.personal_data_viewed",  # the refused erasure showed the dossier again
                       "admin.personal_data_erased"]
    logged = json.dumps([e.data for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("admin.personal_data_%")))])
    assert "45 67 89" not in logged and "45678901" not in logged  # the journal never holds the phone
    again = client.post("/admin/donnees/dossier", data={"phone": PHONE}).get_data(as_text=True)
    assert "Aucune donnée personnelle" in again


def test_an_active_request_is_cancelled_then_erased(app):
    active = make_request(phone=PHONE)
    client = _dpo_client(app)
    client.post("/admin/donnees/effacer", data={"email": "", "phone": PHONE, "confirm": "y"})
    request = request_by_id(active.id)
    assert request.status == "cancelled" and request.purged_at is not None


def test_search_needs_exactly_one_of_phone_and_email(app):
    client = _dpo_client(app)
    for data in ({}, {"phone": PHONE, "email": "a@b.fr"}, {"phone": "12"}):
        assert client.post("/admin/donnees/dossier", data=data).status_code == 422


def test_commands_export_and_erase(app):
    closed = _called(utcnow(), phone="+33145000001")
    runner = CliRunner()
    exported = runner.invoke(app.cli, ["export-personal-data", "--phone", "01 45 00 00 01"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["requests"][0]["reference"] == closed.reference
    dry = runner.invoke(app.cli, ["erase-personal-data", "--phone", "01 45 00 00 01", "--dry-run"])
    assert "1 request(s) would be erased" in dry.output and request_by_id(closed.id).purged_at is None
    done = runner.invoke(app.cli, ["erase-personal-data", "--phone", "01 45 00 00 01"])
    assert done.exit_code == 0 and request_by_id(closed.id).purged_at is not None
    assert runner.invoke(app.cli, ["erase-personal-data"]).exit_code == 2  # one of --phone, --email


def test_the_artisan_erases_a_closed_request_from_the_status_page(app, client, valid_form):
    response = client.post("/", data=valid_form)
    token = response.headers["Location"].split("/demande/")[1].split("/")[0]
    page = client.get(f"/suivi/{token}").get_data(as_text=True)
    assert "Effacer mes données" not in page  # still active: cancel first
    assert client.post(f"/suivi/{token}/effacer").status_code == 302
    assert request_by_id(db.session.scalar(select(CallbackRequest.id))).purged_at is None
    client.post(f"/suivi/{token}/annuler")
    assert "Effacer mes données" in client.get(f"/suivi/{token}").get_data(as_text=True)
    client.post(f"/suivi/{token}/effacer")
    request = db.session.scalar(select(CallbackRequest))
    assert request.purged_at is not None and request.name == ERASED
    assert "ont été effacées" in client.get(f"/suivi/{token}").get_data(as_text=True)


def test_every_staff_read_of_a_request_card_is_recorded_and_filterable(app):
    from tests.integration.test_staff_access import login

    request = make_request()
    agent, admin = make_staff(availability="offline"), make_staff(role="admin", availability="offline")
    client = app.test_client()
    login(client, agent)
    client.get(f"/console/demandes/{request.reference}")
    read = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.read"))
    assert (read.staff_user_id, read.request_id) == (agent.id, request.id)
    journal = app.test_client()
    login(journal, admin)
    reads = journal.get("/admin/journal?quoi=lectures").get_data(as_text=True)
    assert "Fiche de demande ouverte" in reads and request.reference in reads and agent.name in reads
    assert "Fiche de demande ouverte" not in journal.get("/admin/journal").get_data(as_text=True)


def test_each_kind_of_personal_data_has_its_own_retention(app):
    now = utcnow()
    request = _called(now - timedelta(days=200))
    old_read = AuditEvent(created_at=now - timedelta(days=400), request_id=request.id, actor_type="staff",
                          actor_id="1", action="personal_data.read")
    db.session.add(old_read)
    db.session.commit()
    counts = purge_details(now, notes_days=180, messages_days=90, audit_days=365)
    assert counts["notes"] == 1 and counts["messages"] >= 1 and counts["reads"] == 1
    assert db.session.scalar(select(CallAttempt.note).where(CallAttempt.request_id == request.id)) is None
    assert set(db.session.scalars(select(ArtisanMessage.body).where(ArtisanMessage.request_id == request.id))) == {
        ERASED}
    assert request_by_id(request.id).name != ERASED  # the request itself: a year after closing


def test_with_a_public_interest_basis_the_form_informs_instead_of_asking(_migrated, valid_form):
    app = make_app(LEGAL_BASIS="public_interest")
    with app.app_context():
        settings.update({"DPO_CONTACT": "dpo@cma-exemple.fr",
                         "PRIVACY_NOTICE_URL": "https://www.cma-exemple.fr/confidentialite"},
                        Actor("system"), utcnow())
        client = app.test_client()
        page = text_of(client.get("/"))
        assert "mission d'intérêt public" in page and "dpo@cma-exemple.fr" in page
        assert "https://www.cma-exemple.fr/confidentialite" in page and 'name="consent"' not in page
        form = {k: v for k, v in valid_form.items() if k != "consent"}
        assert client.post("/", data=form).status_code == 302  # no box to tick
        spec = client.get("/api/v1/openapi.json").get_json()
        assert "consent" not in spec["components"]["schemas"]["CallbackRequestInput"]["required"]
        assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 1
        empty_tables()


def test_with_the_consent_basis_the_box_is_still_required(client, valid_form):
    form = {k: v for k, v in valid_form.items() if k != "consent"}
    assert client.post("/", data=form).status_code == 422


def test_an_artisan_on_the_phone_is_not_erased_mid_call(app):
    """Review: the erasure used to anonymise a request in a call (cancelling it is not allowed)."""
    agent = make_staff()
    request = make_request(phone=PHONE)
    taken = assignment.claim_next(agent, utcnow())
    assert taken.id == request.id
    client = _dpo_client(app)
    response = client.post("/admin/donnees/effacer", data={"phone": PHONE, "confirm": "y"})
    assert response.status_code == 422 and "en ligne avec cet artisan" in response.get_data(as_text=True)
    assert request_by_id(request.id).purged_at is None and request_by_id(request.id).name != ERASED


def test_an_offered_request_is_withdrawn_before_it_is_erased(app, run_jobs):
    from chamber_callback.models import Offer

    make_staff()
    request = make_request(phone=PHONE)
    run_jobs()
    assert request_by_id(request.id).status == "offered"
    _dpo_client(app).post("/admin/donnees/effacer", data={"phone": PHONE, "confirm": "y"})
    assert request_by_id(request.id).status == "cancelled" and request_by_id(request.id).purged_at is not None
    assert db.session.scalar(select(Offer.status).where(Offer.request_id == request.id)) == "withdrawn"


def test_a_dossier_shown_again_after_a_refused_erasure_is_recorded(app):
    _called(utcnow())
    client = _dpo_client(app)
    client.post("/admin/donnees/effacer", data={"phone": PHONE})  # the box not ticked: the dossier again
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("admin.personal_data_%")))] == ["admin.personal_data_viewed"]


def test_the_staff_api_records_its_reads_too(app, client):
    from tests.integration.helpers import token_for

    agent = make_staff(availability="offline")
    request = make_request()
    assert client.get(f"/api/v1/requests/{request.reference}", headers=token_for(agent)).status_code == 200
    read = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data.read"))
    assert (read.staff_user_id, read.request_id) == (agent.id, request.id)


def test_a_manager_cannot_create_or_take_over_a_dpo_account(app):
    from chamber_callback.services import admin as admin_service
    from chamber_callback.services.admin import AdminError

    manager, dpo = make_staff(role="manager", availability="offline"), make_staff(role="dpo", availability="offline")
    for attempt in (
            lambda: admin_service.admin_create_user(email="dpo2@example.fr", name="X", role="dpo", unit_id=None,
                                                    phone=None, capacity=1, skill_codes=[], password=None,
                                                    actor=Actor.staff(manager.id), now=utcnow()),
            lambda: admin_service.reset_password(dpo.id, None, actor=Actor.staff(manager.id), now=utcnow())):
        try:
            attempt()
        except AdminError as error:
            assert "délégué à la protection des données" in error.message
        else:
            raise AssertionError("a manager handled a DPO account")


def test_with_a_public_interest_basis_no_consent_is_recorded(_migrated, valid_json):
    app = make_app(LEGAL_BASIS="public_interest")
    with app.app_context():
        body = {k: v for k, v in valid_json.items() if k != "consent"}
        assert app.test_client().post("/api/v1/callback-requests", json=body).status_code == 201
        assert db.session.scalar(select(CallbackRequest.consent_at)) is None
        empty_tables()
