"""Managers read the next 24 hours in /pilotage/previsions: arrivals, breaches to come, the agents
that would prevent them, and a what-if."""
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from chamber_callback.domain.forecast import project
from chamber_callback.domain.lifecycle import Status
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from chamber_callback.services import forecast as forecast_service
from tests.integration.helpers import make_request, make_staff, sign_in
from tests.integration.test_public_form import text_of

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Paris: open
UNIT = "idf-nord-om"


def tile(page: str, name: str) -> str:
    match = re.search(rf'data-tile="{name}">([^<]+)<', page)
    assert match, name
    return match.group(1)


def unit_cell(page: str, unit_code: str, cell: str) -> str:
    row = re.search(rf'<tr data-unit="{unit_code}">(.*?)</tr>', page, re.DOTALL)
    assert row, unit_code
    match = re.search(rf'data-cell="{cell}">(.*?)</td>', row.group(1), re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def _manager(app):
    client = app.test_client()
    sign_in(client, make_staff(role="manager"))
    return client


def _closed(*requests):
    db.session.execute(update(CallbackRequest).where(CallbackRequest.id.in_([r.id for r in requests]))
                       .values(status=Status.COMPLETED.value))
    db.session.commit()


def test_a_calm_unit_shows_no_breach_and_needs_no_extra_agent(app, freeze_clock):
    freeze_clock(NOW)
    make_staff()  # one agent present in the unit, no roster: counted as here
    for _ in range(3):
        make_request(now=NOW - timedelta(minutes=20))
    page = text_of(_manager(app).get("/pilotage/previsions"))
    assert "Prévisions des 24 prochaines heures" in page
    assert tile(page, "waiting") == "3" and tile(page, "breaches") == "0" and tile(page, "staffing-full") == "0"
    assert unit_cell(page, UNIT, "breaches") == "0" and unit_cell(page, UNIT, "full") == "aucun"
    assert "personne de présent ni de planifié" in page  # the other units have nobody


def test_recent_arrivals_are_expected_to_go_on_at_the_same_rate(app, freeze_clock):
    freeze_clock(NOW)
    # Six requests over the last three hours, no older history: two an hour from now on.
    recent = [make_request(now=NOW - timedelta(minutes=45 + 30 * k)) for k in range(6)]  # 06:15 to 08:45
    _closed(*recent)
    page = text_of(_manager(app).get("/pilotage/previsions"))
    # Half of this hour is gone: 1 still expected in it, then 2 an hour for 23 hours.
    assert tile(page, "arrivals") == "47"
    assert tile(page, "waiting") == "0"


def test_an_overloaded_unit_shows_its_breaches_the_agents_to_add_and_a_what_if(app, freeze_clock):
    freeze_clock(NOW)
    make_staff()  # a single agent for fifty requests due within the hour
    for _ in range(50):
        make_request(now=NOW - timedelta(hours=23))
    client = _manager(app)
    page = text_of(client.get("/pilotage/previsions"))
    expected = project(forecast_service.build(NOW).scenario)
    shown = int(tile(page, "breaches"))
    # One agent makes about eight 8-minute calls before the deadline: forty-odd breach.
    assert shown == round(sum(expected.breaches_within(24).values())) and 35 <= shown <= 45
    assert unit_cell(page, UNIT, "breaches") == str(shown)
    # Due at 11:30 (Paris): added as late as possible, the agents are needed in the 11h hour.
    assert re.fullmatch(r"\+\d+ agents aujourd'hui de 11h à 12h", unit_cell(page, UNIT, "full"))
    assert int(tile(page, "staffing-full")) >= 1

    page = text_of(client.get(f"/pilotage/previsions?plus_{UNIT}=20"))
    assert "Avec ces changements" in page
    match = re.search(r'data-what-if="(\d+)"', page)
    assert match and int(match.group(1)) < shown / 2


def test_bad_what_if_values_are_explained_and_ignored(app, freeze_clock):
    freeze_clock(NOW)
    client = _manager(app)
    page = text_of(client.get(f"/pilotage/previsions?plus_{UNIT}=beaucoup&delai=0"))
    assert f"Unité {UNIT} : indiquez un nombre entier d'agents entre -200 et 200." in page
    assert "Le délai promis doit être un nombre entier d'heures entre 1 et 168." in page
    assert "Avec ces changements" not in page


def test_a_shorter_promise_in_the_what_if_breaches_more(app, freeze_clock):
    freeze_clock(NOW)
    make_staff()
    for _ in range(30):
        make_request(now=NOW - timedelta(hours=2))  # due tomorrow morning under 24 h
    client = _manager(app)
    page = text_of(client.get("/pilotage/previsions"))
    assert tile(page, "breaches") == "0"
    page = text_of(client.get("/pilotage/previsions?delai=3"))
    match = re.search(r'data-what-if="(\d+)"', page)
    assert match and int(match.group(1)) >= 20  # one agent cannot call thirty within the hour left


def test_a_senior_sees_its_own_unit_only(app, freeze_clock):
    freeze_clock(NOW)
    client = app.test_client()
    sign_in(client, make_staff(role="senior", unit="ouest"))
    page = client.get("/pilotage/previsions").get_data(as_text=True)
    assert 'data-unit="ouest"' in page and f'data-unit="{UNIT}"' not in page
    assert f"plus_{UNIT}" not in page and "plus_ouest" in page


def test_the_dashboard_navigation_leads_to_the_forecast(app, freeze_clock):
    freeze_clock(NOW)
    page = _manager(app).get("/pilotage").get_data(as_text=True)
    assert 'href="/pilotage/previsions"' in page
