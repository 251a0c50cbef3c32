"""Topics, départements and settings shared by a process (REFERENCE_CACHE_SECONDS): a submission no
longer reads them, and an admin's change is seen at once by the process that made it."""
from sqlalchemy import event, select, update

from chamber_callback import process_cache
from chamber_callback.domain.actors import Actor
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Topic
from chamber_callback.services import admin, reference, settings
from chamber_callback.services import eta as eta_service
from tests.integration.helpers import T0

URL = "/api/v1/callback-requests"
ADMIN = Actor("system")


def statements(run) -> list[str]:
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return seen


def submit(client, valid_json, phone: str):
    response = client.post(URL, json={**valid_json, "phone": phone})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_submission_reads_no_reference_data_once_shared(app, client, valid_json):
    app.config.update(REFERENCE_CACHE_SECONDS=60, ETA_CONTEXT_SECONDS=60)  # the defaults are 5 and 10
    reference.forget()
    eta_service._contexts.clear()
    submit(client, valid_json, "+33612345601")
    sql = statements(lambda: submit(client, valid_json, "+33612345602"))
    for table in ("topics", "departements", "regional_units", "settings"):
        assert not [s for s in sql if f"FROM {table}" in s], (table, sql)
    # Nor does it read back what it just wrote to answer.
    assert not [s for s in sql if s.startswith("SELECT callback_requests.id, callback_requests.reference")][1:]
    body = submit(client, valid_json, "+33612345603")
    assert (body["unit"], body["topic"]) == ("sud-est", "pge")
    eta_service._contexts.clear()


def test_an_admins_change_is_seen_at_once_by_the_process_that_made_it(app, client, valid_json):
    app.config["REFERENCE_CACHE_SECONDS"] = 60
    reference.forget()
    pge = db.session.scalar(select(Topic).where(Topic.code == "pge"))
    label = pge.label
    assert "pge" in client.get("/").get_data(as_text=True)
    try:
        admin.update_topic(pge.id, label=label, active=False, actor=ADMIN, now=T0)
        page = client.get("/").get_data(as_text=True)
        assert 'value="pge"' not in page
        refused = client.post(URL, json={**valid_json, "phone": "+33612345604"})
        assert refused.status_code == 422 and "topic" in refused.get_json()["errors"]

        settings.update({"INTAKE_PAUSED": True}, ADMIN, T0)
        assert client.post(URL, json={**valid_json, "phone": "+33612345605"}).status_code == 503
        settings.update({"INTAKE_PAUSED": False}, ADMIN, T0)
    finally:
        admin.update_topic(pge.id, label=label, active=True, actor=ADMIN, now=T0)
    assert 'value="pge"' in client.get("/").get_data(as_text=True)
    assert submit(client, valid_json, "+33612345606")["topic"] == "pge"
    assert db.session.scalar(select(CallbackRequest.phone)) == "+33612345606"


def test_a_change_by_another_process_is_seen_within_the_period(app, client, valid_json, monkeypatch):
    """Another process's commit does not reach this one's cache: the period bounds how stale it is."""
    app.config["REFERENCE_CACHE_SECONDS"] = 60
    reference.forget()
    clock = [1000.0]
    monkeypatch.setattr(process_cache.time, "monotonic", lambda: clock[0])
    assert reference.active_topic("pge") is not None
    with db.engine.begin() as other_process:  # not through this session: no event here
        other_process.execute(update(Topic).where(Topic.code == "pge").values(active=False))
    try:
        assert reference.active_topic("pge") is not None  # still shared
        db.session.rollback()  # the next request: its own transaction
        clock[0] += 61
        assert reference.active_topic("pge") is None
    finally:
        with db.engine.begin() as other_process:
            other_process.execute(update(Topic).where(Topic.code == "pge").values(active=True))
        reference.forget()
