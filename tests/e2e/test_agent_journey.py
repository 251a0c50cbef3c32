"""An agent at home and an artisan on a phone: the offer reaches the console without a reload."""
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallbackRequest
from chamber_callback.queues import ALL_QUEUES, get_queue
from chamber_callback.services.assignment import requeue_due
from tests.e2e.conftest import sign_in
from tests.e2e.test_artisan_journey import fill_request
from tests.integration.helpers import make_staff

pytestmark = pytest.mark.e2e


def run_worker(app):
    with app.app_context():
        connection = app.extensions["redis"]
        queues = [get_queue(name, connection) for name in ALL_QUEUES]
        SimpleWorker(queues, connection=connection, serializer=queues[0].serializer).work(burst=True)


def test_offer_accept_no_answer_retry_then_complete(live_server, laptop_page, phone_page, shots):
    base, app = live_server
    with app.app_context():
        make_staff(email="agent@example.fr", availability="offline")
    console = laptop_page
    sign_in(console, base, "agent@example.fr", "/console")
    console.get_by_role("button", name="Disponible").click()
    assert "Aucun appel proposé" in console.content()
    console.evaluate("window.__sameDocument = true")

    # The artisan asks for a callback on a phone.
    phone_page.goto(base + "/")
    fill_request(phone_page)
    phone_page.locator("#consent").check()
    phone_page.get_by_role("button", name="Envoyer ma demande").click()
    phone_page.wait_for_url(re.compile(r".*/confirmation$"))
    reference = phone_page.locator(".reference").first.inner_text()

    run_worker(app)  # the assignment job offers it to the agent
    console.get_by_role("heading", name="Nouvel appel proposé").wait_for(timeout=10_000)
    assert console.evaluate("window.__sameDocument") is True  # arrived without a reload
    assert "Boulangerie Lefèvre" in console.locator("#console-status").inner_text()  # told to screen readers
    assert "Boulangerie Lefèvre" in console.locator(".offer").inner_text()
    assert re.search(r"À accepter dans \d min", console.locator(".countdown").inner_text())
    shots(console, "console-offer")

    console.keyboard.press("a")  # keyboard shortcut: accept
    console.get_by_text("Appel en main").wait_for()
    assert console.locator("a.tel").first.get_attribute("href") == "tel:+33612345678"
    console.get_by_role("button", name="Démarrer l'appel").click()
    console.get_by_label("Pas de réponse").check()
    console.get_by_label("Note (visible par l'équipe)").fill("Pas de réponse, messagerie pleine")
    shots(console, "console-call")
    console.get_by_role("button", name="Enregistrer le résultat").click()
    console.get_by_text("Résultat enregistré").wait_for()

    with app.app_context():
        request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
        assert request.status == "retry_wait"
        due = request.next_attempt_at
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 0.1)
    with app.app_context():
        requeue_due(due + timedelta(seconds=1))  # what the scheduled job or the tick does
    run_worker(app)
    console.get_by_role("heading", name="Nouvel appel proposé").wait_for(timeout=10_000)
    console.get_by_role("button", name="Accepter").click()
    console.get_by_role("button", name="Démarrer l'appel").click()
    console.get_by_label("Joint : question réglée").check()
    console.get_by_role("button", name="Enregistrer le résultat").click()
    console.get_by_text("Résultat enregistré").wait_for()

    console.goto(base + f"/console/demandes/{reference}")
    timeline = console.locator(".timeline").inner_text()
    for step in ("request.submitted", "request.offered", "request.accepted", "attempt.no_answer",
                 "request.requeued", "attempt.reached_resolved"):
        assert step in timeline
    with app.app_context():
        request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
        assert request.status == "completed"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.request_id == request.id,
                                                          AuditEvent.action == "attempt.no_answer")) is not None
    # the artisan's status page says so
    phone_page.get_by_role("link", name="Voir l'état de ma demande").click()
    assert "Traitée" in phone_page.locator(".summary").inner_text()

