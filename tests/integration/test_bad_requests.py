"""Odd requests get a 4xx with a clear message (problem+json on /api, plain text for Twilio),
never a 500."""
import pytest

from chamber_callback.extensions import db
from tests.integration.helpers import make_staff, token_for
from tests.integration.test_staff_access import login

URL = "/api/v1/callback-requests"


def test_a_json_body_nested_20000_levels_deep_is_a_400(client):
    """Before: RecursionError, a 500."""
    body = "[" * 20000 + "]" * 20000
    response = client.post(URL, data=body, content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize("path", ["/pilotage", "/pilotage/panneau", "/rapports", "/rapports/demandes.csv",
                                  "/rapports/unites.csv"])
def test_dates_out_of_range_are_refused_with_a_message(app, path):
    """Before: ?du=0001-01-01&au=9999-12-31 was an OverflowError (500)."""
    client = app.test_client()
    login(client, make_staff(role="manager", availability="offline"))
    response = client.get(f"{path}?du=0001-01-01&au=9999-12-31")
    assert response.status_code in (200, 400), response.status_code
    if path != "/pilotage/panneau":  # the polled panel shows figures only; its page shows the message
        assert "entre 2000 et 2099" in response.get_data(as_text=True)


def test_a_line_break_in_next_does_not_escape_the_dashboard(app):
    """Before: CR/LF in the ``next`` field of a dashboard action was a 500."""
    client = app.test_client()
    login(client, make_staff(role="manager", availability="offline"))
    for target in ("/pilotage\r\nSet-Cookie: x=1", "/pilotage?x=1\n", "//evil.example", "/pilotage/../admin"):
        response = client.post("/pilotage/demandes/AAAA-AAAA/priorite", data={"next": target})
        assert response.status_code in (302, 404), (target, response.status_code)
        assert response.headers.get("Location", "/pilotage") in ("/pilotage", "http://localhost/pilotage")


def test_huge_numbers_in_paths_and_parameters_name_nothing(app):
    """On PostgreSQL, ids beyond 32 bits were a database error (a 500)."""
    agent = make_staff(availability="offline")
    client = app.test_client()
    login(client, agent)
    assert client.post("/console/offres/99999999999999999999/accepter").status_code == 404
    headers = token_for(agent)
    response = app.test_client().post("/api/v1/attempts/99999999999999999999/outcome", headers=headers, json={})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    senior = make_staff(role="senior", availability="offline")
    team = app.test_client()
    login(team, senior)
    assert team.get("/equipe?unite=99999999999999999999").status_code == 200


def test_a_body_too_large_for_the_api_is_problem_json(client):
    """Before: Werkzeug's HTML page."""
    response = client.post(URL, data=b"{" + b" " * (70 * 1024) + b"}", content_type="application/json")
    assert response.status_code == 413 and response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Demande trop volumineuse"


def test_webhook_refusals_are_short_plain_text(client):
    response = client.post("/webhooks/twilio/status?attempt=1&leg=artisan", data={"CallStatus": "completed"})
    assert response.status_code == 403 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith("403")
    assert db.session is not None


def test_odd_digits_in_parameters_and_headers_are_not_500s(_migrated):
    """Review: « --1 », « ² » and non-ASCII bearer tokens reached int() or compare_digest."""
    from tests.conftest import make_app

    app = make_app(OPERATOR_TOKEN="ops-token-for-the-test")
    with app.app_context():
        client = app.test_client()
        login(client, make_staff(role="admin", availability="offline"))
        for path in ("/admin/utilisateurs?unite=--1", "/admin/journal?page=%C2%B2", "/equipe?unite=%D9%A1"):
            assert client.get(path).status_code == 200, path
        health = app.test_client().get("/healthz", headers={"Authorization": "Bearer é"})
        assert health.status_code == 200 and "checks" not in health.get_json()


def test_a_lone_surrogate_in_json_is_refused_next_to_its_field(client, valid_json):
    response = client.post(URL, data='{"name": "\\ud800", "consent": true}', content_type="application/json")
    assert response.status_code == 422 and "name" in response.get_json()["errors"]
