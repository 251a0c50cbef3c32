"""Control and invisible characters typed or pasted into text fields (public form, API, staff)."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from chamber_callback.domain.text import INVISIBLE, TextError, clean_text, has_control
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, RegionalUnit
from tests.integration.helpers import make_request, make_staff, token_for
from tests.integration.test_public_form import field_error, text_of

URL = "/api/v1/callback-requests"


def count_requests() -> int:
    return db.session.scalar(select(func.count()).select_from(CallbackRequest))


def test_a_nul_byte_in_the_form_gets_a_message_next_to_the_field_and_stores_nothing(client, valid_form):
    """Before: stored on SQLite, and a 500 on PostgreSQL (which refuses NUL)."""
    response = client.post("/", data={**valid_form, "name": "Martine\x00 Lefèvre",
                                      "description": "Bonjour\x1b[31m\nau secours"})
    html = text_of(response)
    assert response.status_code == 422 and count_requests() == 0
    assert "caractère de contrôle" in field_error(html, "name")
    assert "caractère de contrôle" in field_error(html, "description")


def test_the_api_refuses_control_characters_field_by_field(client, valid_json):
    response = client.post(URL, json={**valid_json, "business_name": "Plomberie\x00", "postal_code": "13008\x07"})
    body = response.get_json()
    assert response.status_code == 422 and count_requests() == 0
    assert set(body["errors"]) == {"business_name", "postal_code"}
    assert "caractère de contrôle" in body["errors"]["business_name"][0]


def test_bidi_overrides_and_zero_width_characters_are_removed_from_names(client, valid_json):
    """Before: kept, so « Plomberie \u202eilleB » showed to staff as another name."""
    response = client.post(URL, json={**valid_json, "name": "Ka\u200brim\u200d Benali",
                                      "business_name": "Plomberie \u202eilleB\u202c",
                                      "description": "Line one\nline two\u2066"})
    assert response.status_code == 201
    stored = db.session.scalar(select(CallbackRequest))
    assert (stored.name, stored.business_name) == ("Karim Benali", "Plomberie illeB")
    assert stored.description == "Line one\nline two"  # line breaks stay in a description


def test_a_note_with_a_nul_byte_is_refused_by_the_staff_api(app, client):
    agent = make_staff(availability="offline")
    headers = token_for(agent)
    make_request()
    taken = client.post("/api/v1/me/next", headers=headers).get_json()
    attempt = client.post(f"/api/v1/requests/{taken['reference']}/attempts", headers=headers).get_json()
    refused = client.post(f"/api/v1/attempts/{attempt['id']}/outcome", headers=headers,
                          json={"outcome": "reached_resolved", "note": "ok\x00"})
    assert refused.status_code == 422 and "note" in refused.get_json()["errors"]


def test_an_admin_form_refuses_control_characters(app):
    from tests.integration.test_admin import login

    admin = make_staff(role="admin", availability="offline")
    client = app.test_client()
    login(client, admin)
    unit = db.session.scalars(select(RegionalUnit)).first()
    response = client.post(f"/admin/unites/{unit.id}", data={"name": "Ouest\x00"})
    assert response.status_code == 422 and "caractère de contrôle" in response.get_data(as_text=True)
    db.session.expire_all()
    assert "\x00" not in db.session.get(RegionalUnit, unit.id).name


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text())
def test_clean_text_never_lets_a_control_or_invisible_character_through(text):
    try:
        cleaned = clean_text(text)
    except TextError:
        assert has_control(text)
        return
    assert not has_control(cleaned) and not set(cleaned) & INVISIBLE
