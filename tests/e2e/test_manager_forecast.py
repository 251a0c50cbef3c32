"""A manager reads tomorrow's breaches before they happen and tries reinforcements."""
import time
from datetime import UTC, datetime, timedelta

import pytest

from chamber_callback import clock
from tests.e2e.conftest import sign_in
from tests.integration.helpers import make_request, make_staff

pytestmark = pytest.mark.e2e
# A Wednesday, 10:30 in Paris: the units are open. Run at night or on a Sunday, the forecast would
# rightly show no agent needed before the units open, and nothing to try.
WEDNESDAY = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def test_the_forecast_shows_breaches_to_come_and_a_what_if_removes_them(live_server, laptop_page, shots,
                                                                        monkeypatch):
    base, app = live_server
    started = time.monotonic()
    monkeypatch.setattr(clock, "source", lambda: WEDNESDAY + timedelta(seconds=time.monotonic() - started))
    now = WEDNESDAY
    with app.app_context():
        make_staff(role="manager", email="manager@example.fr")
        make_staff(email="alone@example.fr")  # one agent present for forty requests due within the hour
        for _ in range(40):
            make_request(now=now - timedelta(hours=23, minutes=10))
    page = laptop_page
    sign_in(page, base, "manager@example.fr", "/pilotage", app)
    page.get_by_role("link", name="Prévisions", exact=True).click()
    page.wait_for_url("**/pilotage/previsions")
    breaches = int(page.locator("[data-tile=breaches]").inner_text())
    assert breaches >= 20
    assert "+" in page.locator("tr[data-unit='idf-nord-om'] [data-cell=full]").inner_text()
    shots(page, "forecast")

    page.get_by_label("Île-de-France, Hauts-de-France et Outre-mer : agents en plus (ou en moins)").fill("15")
    page.get_by_role("button", name="Calculer").click()
    page.wait_for_url("**plus_idf-nord-om=15**")
    result = page.locator("[data-what-if]")
    assert int(result.get_attribute("data-what-if")) < breaches / 2
    assert "Avec ces changements" in result.inner_text()
