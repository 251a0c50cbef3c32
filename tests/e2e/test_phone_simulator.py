"""A staff member plays a call on the incoming call simulator: the keypad drives the real menu."""
import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from tests.e2e.conftest import sign_in
from tests.integration.helpers import make_staff

pytestmark = pytest.mark.e2e


def test_a_call_on_the_simulator_page_makes_a_phone_request(live_server, laptop_page, shots):
    base, app = live_server
    with app.app_context():
        make_staff(email="agent@example.fr", availability="offline")
    page = laptop_page
    sign_in(page, base, "agent@example.fr", "/console", app)
    page.goto(base + "/console/simulateur-appel")
    page.get_by_label("Numéro de l'appelant").fill("06 12 34 56 78")
    page.get_by_role("button", name="Appeler").click()
    transcript = page.locator("#sim-transcript")
    transcript.get_by_text("soixante-dix-huit, tapez 1", exact=False).wait_for()
    keypad = page.get_by_role("group", name="Clavier du téléphone")
    keypad.get_by_role("button", name="1", exact=True).click()  # this number
    transcript.get_by_text("Quel est le sujet de votre demande ?").wait_for()
    page.keyboard.press("3")  # the keyboard works too: the third topic
    transcript.get_by_text("Si votre activité est menacée", exact=False).wait_for()
    keypad.get_by_role("button", name="2", exact=True).click()
    transcript.get_by_text("code postal", exact=False).wait_for()
    for key in "35000#":
        keypad.get_by_role("button", name=key, exact=True).click()
    page.locator("#sim-result a").wait_for()
    assert "Appel terminé. Demande créée" in page.locator("#sim-result").inner_text()
    assert not keypad.is_visible()  # the call is over
    shots(page, "phone-simulator")
    reference = page.locator("#sim-result a").inner_text().split()[-1]
    with app.app_context():
        request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
        assert request.channel == "phone" and request.topic.code == "pge" and not request.urgent
    assert "Votre demande est enregistrée." in transcript.inner_text()
