"""The artisan's language: a request keeps the language of the page (or API call) it came from, and
its text messages are written in it, although a job sends them, outside any request."""
from pathlib import Path

import pytest
from flask_babel import force_locale, gettext, refresh
from sqlalchemy import select

from chamber_callback.extensions import babel, db
from chamber_callback.models import ArtisanMessage, CallbackRequest

# The two confirmations (with and without an expected window): an English catalogue translates them.
CONFIRMATIONS = ("CMA : demande %(reference)s enregistrée, rappel avant le %(deadline)s. Suivi : %(url)s",
                 "CMA : demande %(reference)s enregistrée, rappel prévu %(window)s. Suivi : %(url)s")


def submit(client, how: str, language: str, valid_form: dict, valid_json: dict) -> str:
    """Submit through the public form or the API with this Accept-Language; the request's reference."""
    refresh()  # the tests' app context outlives each request: forget the language a previous one cached
    headers = {"Accept-Language": language}
    if how == "api":
        response = client.post("/api/v1/callback-requests", json=valid_json, headers=headers)
        assert response.status_code == 201, response.get_data(as_text=True)
        reference = response.get_json()["reference"]
    else:
        response = client.post("/", data=valid_form, headers=headers)
        assert response.status_code == 302, response.get_data(as_text=True)
        reference = db.session.scalar(select(CallbackRequest.reference))
    refresh()
    return reference


def stored(reference: str) -> tuple[CallbackRequest, ArtisanMessage]:
    db.session.rollback()
    request = db.session.scalar(select(CallbackRequest).where(CallbackRequest.reference == reference))
    message = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.request_id == request.id,
                                                             ArtisanMessage.kind == "confirmation"))
    return request, message


def english_catalogue() -> bool:
    if "en" not in {str(locale) for locale in babel.list_translations()}:
        return False
    with force_locale("en"):
        return all(gettext(msgid) != msgid for msgid in CONFIRMATIONS)


@pytest.mark.parametrize("how", ["form", "api"])
def test_an_english_request_keeps_its_language_and_gets_its_confirmation_in_english(
        app, client, run_jobs, valid_form, valid_json, how):
    if not english_catalogue():
        pytest.skip("no compiled English catalogue translating the confirmation SMS "
                    "(chamber_callback/translations/en, `make translations`)")
    sms_log = Path(app.config["SMS_LOG"])
    sms_log.unlink(missing_ok=True)
    reference = submit(client, how, "en-GB,en;q=0.9", valid_form, valid_json)
    request, message = stored(reference)
    assert request.locale == "en"
    assert reference in message.body and "enregistrée" not in message.body
    run_jobs()  # sent by the worker, outside the request: still in English
    sent = sms_log.read_text(encoding="utf-8")
    assert reference in sent and "enregistrée" not in sent


@pytest.mark.parametrize("how", ["form", "api"])
def test_a_french_request_gets_its_confirmation_in_french(app, client, run_jobs, valid_form, valid_json, how):
    sms_log = Path(app.config["SMS_LOG"])
    sms_log.unlink(missing_ok=True)
    reference = submit(client, how, "fr-FR,fr;q=0.9", valid_form, valid_json)
    request, message = stored(reference)
    assert request.locale in (None, "fr")
    assert message.body.startswith(f"CMA : demande {reference} enregistrée, rappel ")
    run_jobs()
    assert f"CMA : demande {reference} enregistrée" in sms_log.read_text(encoding="utf-8")


def test_the_phone_line_and_jobs_leave_the_language_unset(app):
    """Requests made outside an artisan's page (the phone line, staff, commands) have no language:
    French. ``make_request`` submits outside any request, like a job or a command."""
    from tests.integration.helpers import make_request

    request = make_request()
    assert request.locale is None
    message = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.request_id == request.id))
    assert "enregistrée" in message.body
