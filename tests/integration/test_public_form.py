"""The public form as an artisan uses it: French, CSRF on, errors next to fields, nothing half-written."""
import re
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import ArtisanMessage, AuditEvent, CallbackRequest
from tests.conftest import csrf_token_from, make_app


def count_requests() -> int:
    return db.session.scalar(select(func.count()).select_from(CallbackRequest))


def text_of(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return unescape(response.get_data(as_text=True))


def field_error(html: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">([^<]+)<', html)
    return match.group(1) if match else ""


def test_form_is_french_and_complete(client):
    page = client.get("/")
    assert page.status_code == 200
    html = text_of(page)
    assert '<html lang="fr">' in html
    assert "Être rappelé par un conseiller" in html
    for field in ("name", "business_name", "siret", "sector", "phone", "email", "postal_code", "commune",
                  "topic", "description", "urgent", "urgency_reason", "preferred_slot", "consent"):
        assert f'name="{field}"' in html, field
    assert "Prêt garanti par l'État" in html  # topics come from the database
    assert "conservées 12 mois" in html  # retention period stated next to the consent


def test_submission_with_csrf_stores_request_and_shows_confirmation(_migrated):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        token = csrf_token_from(client.get("/").get_data(as_text=True))
        form = {"csrf_token": token, "name": "Martine Lefèvre", "business_name": "Boulangerie Lefèvre",
                "sector": "alimentation", "phone": "06 12 34 56 78", "postal_code": "75011", "topic": "aides",
                "description": "Fonds de solidarité ?", "consent": "y", "urgent": "y",
                "urgency_reason": "premiere_ligne", "preferred_slot": "apres_19h"}
        response = client.post("/", data=form)
        assert response.status_code == 302
        confirmation = client.get(response.headers["Location"])
        html = text_of(confirmation)
        request = db.session.scalar(select(CallbackRequest))
        try:
            assert request.phone == "+33612345678"
            assert request.urgent and request.urgency_reason == "premiere_ligne"
            assert request.unit.code == "idf-nord-om" and request.departement_code == "75"
            assert request.preferred_end is not None and request.preferred_end.astimezone().hour is not None
            assert request.reference in html
            assert "Votre demande est enregistrée" in html
            assert "https://rappel.example.fr/suivi/" in html
            assert "06 •• •• •• 78" in html
            assert confirmation.headers["Cache-Control"] == "no-store"
            events = db.session.scalars(select(AuditEvent).where(AuditEvent.request_id == request.id)).all()
            assert [(e.action, e.actor_type, e.to_status) for e in events] == [
                ("request.submitted", "artisan", "queued")]
        finally:
            db.session.delete(request)
            db.session.commit()


def test_post_without_csrf_token_is_refused(_migrated, valid_form):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        response = app.test_client().post("/", data=valid_form)
        assert response.status_code == 400
        assert "Formulaire expiré" in text_of(response)
        assert count_requests() == 0


def test_errors_are_shown_next_to_each_field_and_nothing_is_stored(client, valid_form):
    bad = dict(valid_form, phone="12", siret="12345678901234", postal_code="99999", description="x" * 1001,
               email="pas-un-email", sector="", consent="")
    response = client.post("/", data=bad)
    html = text_of(response)
    assert response.status_code == 422
    assert "Ce numéro de téléphone n'existe pas" in field_error(html, "phone")
    assert "SIRET n'est pas valide" in field_error(html, "siret")
    assert "Ce code postal n'existe pas" in field_error(html, "postal_code")
    assert "1000 caractères au plus" in field_error(html, "description")
    assert "adresse e-mail n'est pas valide" in field_error(html, "email")
    assert "secteur" in field_error(html, "sector")
    assert "accord est nécessaire" in field_error(html, "consent")
    assert 'aria-invalid="true"' in html
    assert "Votre demande n'est pas encore envoyée" in html  # error summary
    assert 'value="Martine Lefèvre"' in html  # what was typed is kept
    assert count_requests() == 0


def test_urgent_request_needs_a_reason(client, valid_form):
    response = client.post("/", data=dict(valid_form, urgent="y"))
    assert response.status_code == 422
    assert "pourquoi votre demande est urgente" in field_error(text_of(response), "urgency_reason")
    assert count_requests() == 0


def test_postal_code_spanning_two_departements_asks_for_the_commune(client, valid_form):
    response = client.post("/", data=dict(valid_form, postal_code="05110"))
    html = text_of(response)
    assert response.status_code == 422
    assert "choisissez votre commune" in field_error(html, "commune")
    assert '<option value="04058">Claret</option>' in html
    assert count_requests() == 0

    response = client.post("/", data=dict(valid_form, postal_code="05110", commune="04058"))
    assert response.status_code == 302
    request = db.session.scalar(select(CallbackRequest))
    assert (request.departement_code, request.commune_name, request.unit.code) == ("04", "Claret", "sud-est")


def test_corsica_and_overseas_requests_reach_their_units(client, valid_form):
    client.post("/", data=dict(valid_form, postal_code="20200", phone="06 11 22 33 44"))
    client.post("/", data=dict(valid_form, postal_code="97400", phone="0692 12 34 56"))
    rows = db.session.execute(select(CallbackRequest.departement_code, CallbackRequest.phone,
                                     CallbackRequest.unit_id).order_by(CallbackRequest.id)).all()
    assert [(r.departement_code, r.phone) for r in rows] == [("2B", "+33611223344"), ("974", "+262692123456")]


def test_second_submission_for_the_same_phone_reveals_nothing_and_reminds_the_owner(app, client, valid_form,
                                                                                      run_jobs):
    first = client.post("/", data=valid_form)
    assert first.status_code == 302
    # the same browser (double tap, retry) is taken back to its own confirmation and link
    again = client.post("/", data=valid_form)
    assert again.headers["Location"] == first.headers["Location"]
    # Another browser only learns that a request exists. Before: it was shown the reference, the
    # status and the deadline of someone else's request.
    second = app.test_client().post("/", data=dict(valid_form, phone="+33612345678", description="Autre question"))
    html = text_of(second)
    request = db.session.scalar(select(CallbackRequest))
    assert second.status_code == 200
    assert "Vous avez déjà une demande en cours" in html and "Nous venons d'envoyer son lien de suivi" in html
    assert request.reference not in html and "/suivi/" not in html
    assert count_requests() == 1
    # The link went to the owner's own phone: a new link, and the first one still works.
    run_jobs()
    reminder = db.session.scalar(select(ArtisanMessage).where(ArtisanMessage.kind.like("reminder-%")))
    assert reminder.status == "sent" and reminder.channel == "sms" and request.reference in reminder.body
    with open(app.config["SMS_LOG"], encoding="utf-8") as log:
        sms = log.read()
    new_link = sms.split("Suivi : ")[-1].split()[0]
    assert app.test_client().get(new_link.replace("https://rappel.example.fr", "")).status_code == 200
    assert client.get(first.headers["Location"]).status_code == 200
    # A third one within 6 hours sends nothing more.
    third = text_of(app.test_client().post("/", data=valid_form))
    assert "envoyé récemment" in third
    assert db.session.scalar(select(func.count()).select_from(ArtisanMessage)
                             .where(ArtisanMessage.kind.like("reminder-%"))) == 1
    actions = [e.action for e in request.events]
    assert actions == ["request.submitted", "request.duplicate_submission", "request.duplicate_submission",
                       "request.link_reminded", "request.duplicate_submission"]


def test_a_closed_request_does_not_block_a_new_one(client, valid_form):
    client.post("/", data=valid_form)
    first = db.session.scalar(select(CallbackRequest))
    first.status = "completed"
    db.session.commit()
    assert client.post("/", data=valid_form).status_code == 302
    assert count_requests() == 2


def test_status_page_shows_state_deadline_and_cancels(client, valid_form):
    location = client.post("/", data=valid_form).headers["Location"]
    token = location.split("/")[2]
    page = client.get(f"/suivi/{token}")
    html = text_of(page)
    request = db.session.scalar(select(CallbackRequest))
    assert page.status_code == 200
    assert "En attente d'un conseiller" in html
    assert "Rappel au plus tard" in html
    assert "fait partie des prochaines" in html
    assert "Annuler ma demande" in html
    assert page.headers["Cache-Control"] == "no-store"
    assert request.sla_deadline - request.submitted_at == timedelta(hours=24)

    cancelled = client.post(f"/suivi/{token}/annuler", follow_redirects=True)
    html = text_of(cancelled)
    db.session.refresh(request)
    assert request.status == "cancelled" and request.closed_at is not None
    assert "Votre demande est annulée" in html
    assert "Annuler ma demande" not in html
    last = request.events[-1]
    assert (last.action, last.actor_type, last.from_status, last.to_status) == (
        "request.cancelled", "artisan", "queued", "cancelled")

    again = client.post(f"/suivi/{token}/annuler", follow_redirects=True)
    assert "ne peut plus être annulée" in text_of(again)
    assert len(request.events) == 2


def test_cancel_requires_csrf(_migrated, valid_form):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        csrf = csrf_token_from(client.get("/").get_data(as_text=True))
        location = client.post("/", data=dict(valid_form, csrf_token=csrf)).headers["Location"]
        token = location.split("/")[2]
        try:
            assert client.post(f"/suivi/{token}/annuler").status_code == 400
            page = client.get(f"/suivi/{token}").get_data(as_text=True)
            assert client.post(f"/suivi/{token}/annuler", data={"csrf_token": csrf_token_from(page)}).status_code == 302
            assert db.session.scalar(select(CallbackRequest.status)) == "cancelled"
        finally:
            db.session.query(CallbackRequest).delete()
            db.session.commit()


def test_unknown_status_token_is_a_french_404(client):
    response = client.get("/suivi/" + "x" * 43)
    assert response.status_code == 404
    assert "Page introuvable" in text_of(response)


def test_honeypot_submission_looks_accepted_but_stores_nothing(client, valid_form):
    response = client.post("/", data=dict(valid_form, leave_blank="http://spam.example"))
    assert response.status_code == 200
    assert "Demande reçue" in text_of(response)
    assert count_requests() == 0


def test_security_headers(client):
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_every_field_error_is_listed_in_the_summary(client, valid_form):
    html = text_of(client.post("/", data=dict(valid_form, phone="06 12 34 5", postal_code="05110")))
    summary = html.split('id="error-summary"')[1].split("</div>")[0]
    assert "Numéro où vous rappeler" in summary
    assert "Commune" in summary


def test_promise_follows_the_sla_setting(_migrated):
    app = make_app(SLA_HOURS=48)
    with app.app_context():
        html = text_of(app.test_client().get("/"))
    assert "dans les 48 heures" in html and "rappel sous 48 h" in html


def test_one_of_several_communes_is_not_guessed(client, valid_form):
    client.post("/", data=dict(valid_form, postal_code="01000"))  # Bourg-en-Bresse and Saint-Denis-lès-Bourg
    request = db.session.scalar(select(CallbackRequest))
    assert (request.departement_code, request.commune_insee, request.commune_name) == ("01", None, None)


def test_line_breaks_count_as_one_character(client, valid_form):
    text = ("ligne\r\n" * 143)[:1000]  # 1000 characters in the browser, more with CRLF
    assert client.post("/", data=dict(valid_form, description=text)).status_code == 302


def test_english_browser_still_gets_french_without_an_english_catalogue(_migrated, tmp_path):
    app = make_app(BABEL_TRANSLATION_DIRECTORIES=str(tmp_path))  # an empty folder: no catalogue
    with app.app_context():
        html = text_of(app.test_client().get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert '<html lang="fr">' in html and "Être rappelé" in html


def test_status_link_follows_the_request_host_when_no_public_url_is_set(_migrated, valid_json):
    app = make_app(PUBLIC_BASE_URL="")
    with app.app_context():
        try:
            body = app.test_client().post("/api/v1/callback-requests", json=valid_json,
                                          base_url="http://127.0.0.1:8000").get_json()
            assert body["status_url"].startswith("http://127.0.0.1:8000/suivi/")
        finally:
            db.session.query(CallbackRequest).delete()
            db.session.commit()
