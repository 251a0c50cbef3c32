"""An artisan on a phone-sized screen asks for a callback, follows it and cancels it."""
import re

import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest

pytestmark = pytest.mark.e2e


def fill_request(page, postal_code="75011"):
    page.get_by_label("Vos nom et prénom").fill("Martine Lefèvre")
    page.get_by_label("Numéro où vous rappeler").fill("06 12 34 56 78")
    page.get_by_label("Nom de votre entreprise").fill("Boulangerie Lefèvre")
    page.get_by_label("Alimentation", exact=True).check()
    page.get_by_label("Code postal de l'entreprise").fill(postal_code)
    page.get_by_label("Sujet de votre demande").select_option("aides")
    page.get_by_label("Votre question en quelques mots").fill("Ai-je droit au fonds de solidarité ce mois-ci ?")


def test_submit_follow_and_cancel_on_a_phone(live_server, phone_page, shots):
    base, app = live_server
    page = phone_page
    page.goto(base + "/")
    shots(page, "form")
    assert page.locator("h1").inner_text() == "Être rappelé par un conseiller"

    # Urgency reasons appear only once the request is marked urgent.
    assert not page.get_by_text("Je travaille en première ligne").is_visible()
    fill_request(page)
    page.get_by_label("Ma demande est urgente").check()
    page.get_by_label("Je travaille en première ligne").check()
    assert "caractères restants" in page.locator("#description-count").inner_text()

    # Forgetting the consent: the error summary takes focus, nothing is stored.
    page.get_by_role("button", name="Envoyer ma demande").click()
    assert page.locator("#error-summary").is_visible()
    assert "accord est nécessaire" in page.locator("#consent-error").inner_text()
    with app.app_context():
        assert db.session.scalar(select(CallbackRequest)) is None

    page.locator("#consent").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_url(re.compile(r".*/confirmation$"))
    reference = page.locator(".reference").first.inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
    assert "Votre demande est enregistrée" in page.content()
    shots(page, "confirmation")

    page.get_by_role("link", name="Voir l'état de ma demande").click()
    assert "Suivi de votre demande de rappel" in page.locator("h1").inner_text()
    shots(page, "status")
    page.get_by_role("button", name="Annuler ma demande").click()
    assert "Votre demande est annulée" in page.locator(".notice").inner_text()
    with app.app_context():
        request = db.session.scalar(select(CallbackRequest))
        assert (request.reference, request.status, request.urgent) == (reference, "cancelled", True)


def test_commune_is_asked_when_the_postal_code_spans_two_departements(live_server, phone_page, shots):
    base, app = live_server
    page = phone_page
    page.goto(base + "/")
    fill_request(page, postal_code="05110")
    commune = page.get_by_label("Commune")
    commune.wait_for(state="visible")
    page.get_by_role("button", name="Envoyer ma demande").click()  # commune and consent missing
    assert "choisissez votre commune" in page.locator("#commune-error").inner_text()
    shots(page, "form-errors")
    commune = page.get_by_label("Commune")
    commune.select_option(label="Claret")
    page.locator("#consent").check()
    page.get_by_role("button", name="Envoyer ma demande").click()
    page.wait_for_url(re.compile(r".*/confirmation$"))
    with app.app_context():
        request = db.session.scalar(select(CallbackRequest))
        assert (request.departement_code, request.commune_name) == ("04", "Claret")
