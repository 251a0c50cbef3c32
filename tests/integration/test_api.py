"""The intake API contract: 201 / 200 duplicate / 422 / 404, documented in OpenAPI."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from tests.conftest import make_app

URL = "/api/v1/callback-requests"


def count_requests() -> int:
    return db.session.scalar(select(func.count()).select_from(CallbackRequest))


def test_create_returns_reference_token_and_deadline(client, valid_json):
    response = client.post(URL, json=valid_json)
    assert response.status_code == 201
    body = response.get_json()
    request = db.session.scalar(select(CallbackRequest))
    assert body["reference"] == request.reference
    assert body["status"] == "queued"
    assert body["unit"] == "sud-est"
    assert body["duplicate"] is False
    assert len(body["token"]) >= 43
    assert body["status_url"] == f"https://rappel.example.fr/suivi/{body['token']}"
    assert datetime.fromisoformat(body["sla_deadline"]) == request.sla_deadline
    assert response.headers["Location"] == f"/api/v1/callback-requests/{body['token']}"
    assert request.token_digest != body["token"]  # only the digest is stored
    assert (request.phone, request.siret, request.channel, request.urgency_reason) == (
        "+33698765432", "73282932000074", "api", "activite_menacee")
    assert request.events[0].actor_type == "api"


def test_duplicate_phone_reveals_nothing_about_the_existing_request(client, valid_json):
    """Before: the answer gave the other person's reference, status and deadline."""
    first = client.post(URL, json=valid_json).get_json()
    second = client.post(URL, json=dict(valid_json, phone="06 98 76 54 32", topic="aides"))
    assert second.status_code == 200
    body = second.get_json()
    assert set(body) == {"duplicate", "reminder_sent", "detail"}
    assert body["duplicate"] is True and body["reminder_sent"] is True
    assert first["reference"] not in str(body) and "lien de suivi" in body["detail"]
    again = client.post(URL, json=valid_json).get_json()
    assert again["reminder_sent"] is False  # at most one reminder every few hours
    assert count_requests() == 1


def test_invalid_input_is_a_problem_document_with_errors_per_field(client, valid_json):
    bad = dict(valid_json, phone="12", siret="123", postal_code="99999", topic="inconnu", sector="peche",
               consent=False, urgency_reason=None, description="")
    response = client.post(URL, json=bad)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 422 and body["title"] == "Données invalides"
    assert set(body["errors"]) == {"phone", "siret", "postal_code", "topic", "sector", "consent",
                                   "urgency_reason", "description"}
    assert body["errors"]["phone"] == [
        "Ce numéro de téléphone n'existe pas. Vérifiez-le : 10 chiffres, par exemple 06 12 34 56 78."]
    assert count_requests() == 0


def test_wrong_json_types_are_reported(client, valid_json):
    response = client.post(URL, json=dict(valid_json, phone=612345678, urgent="oui", postal_code=75011))
    body = response.get_json()
    assert response.status_code == 422
    assert body["errors"]["phone"] == ["Une chaîne de caractères est attendue."]
    assert body["errors"]["postal_code"] == ["Une chaîne de caractères est attendue."]
    assert body["errors"]["urgent"] == ["Un booléen (true ou false) est attendu."]
    assert count_requests() == 0


def test_body_must_be_a_json_object(client):
    assert client.post(URL, data="name=x", content_type="application/x-www-form-urlencoded").status_code == 400
    assert client.post(URL, json=["not", "an", "object"]).status_code == 400
    assert count_requests() == 0


def test_ambiguous_postal_code_lists_the_communes(client, valid_json):
    response = client.post(URL, json=dict(valid_json, postal_code="05110"))
    body = response.get_json()
    assert response.status_code == 422
    assert "commune" in body["errors"]
    assert {"insee": "04058", "name": "Claret"} in body["communes"]
    ok = client.post(URL, json=dict(valid_json, postal_code="05110", commune="05162"))
    assert ok.status_code == 201
    assert db.session.scalar(select(CallbackRequest.departement_code)) == "05"


def test_preferred_window_moves_the_deadline(client, valid_json):
    paris = ZoneInfo("Europe/Paris")
    day = datetime.now(paris).date() + timedelta(days=2)
    if day.weekday() == 6:
        day += timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 19, 0, tzinfo=paris)
    end = start + timedelta(hours=2)
    response = client.post(URL, json=dict(valid_json, preferred_window={"start": start.isoformat(),
                                                                          "end": end.isoformat()}))
    assert response.status_code == 201
    request = db.session.scalar(select(CallbackRequest))
    assert request.preferred_start == start.astimezone(UTC)
    assert request.sla_deadline == end.astimezone(UTC)  # later than submission + 24 h


def test_preferred_window_outside_opening_hours_is_refused(client, valid_json):
    window = {"start": "2020-01-01T03:00:00+01:00", "end": "2020-01-01T04:00:00+01:00"}
    response = client.post(URL, json=dict(valid_json, preferred_window=window))
    assert response.status_code == 422
    assert response.get_json()["errors"]["preferred_window"] == ["Ce créneau est déjà passé."]
    bad = client.post(URL, json=dict(valid_json, preferred_window={"start": "demain"}))
    assert "preferred_window" in bad.get_json()["errors"]
    assert count_requests() == 0


def test_get_and_delete_by_token(client, valid_json):
    token = client.post(URL, json=valid_json).get_json()["token"]
    status = client.get(f"{URL}/{token}")
    assert status.status_code == 200
    assert status.get_json()["status"] == "queued"
    assert status.headers["Cache-Control"] == "no-store"

    cancelled = client.delete(f"{URL}/{token}")
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    request = db.session.scalar(select(CallbackRequest))
    assert request.status == "cancelled"
    assert [(e.action, e.actor_type) for e in request.events][-1] == ("request.cancelled", "api")

    again = client.delete(f"{URL}/{token}")
    assert again.status_code == 409
    # once cancelled, the same phone may ask again
    assert client.post(URL, json=valid_json).status_code == 201


def test_unknown_token_is_404(client):
    assert client.get(f"{URL}/nope").status_code == 404
    response = client.delete(f"{URL}/{'a' * 43}")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_honeypot_is_refused(client, valid_json):
    response = client.post(URL, json=dict(valid_json, leave_blank="spam"))
    assert response.status_code == 400
    assert count_requests() == 0


def test_postal_code_lookup(client):
    body = client.get("/api/v1/postal-codes/20000").get_json()
    assert body["departements"] == ["2A"]
    assert client.get("/api/v1/postal-codes/99999").status_code == 404
    assert client.get("/api/v1/postal-codes/abc").status_code == 404


def test_topics_are_listed_with_their_contract_codes(client):
    codes = [t["code"] for t in client.get("/api/v1/topics").get_json()["topics"]]
    assert codes == ["aides", "activite_partielle", "pge", "charges", "sanitaire", "formalites", "autre"]


def test_openapi_document_describes_the_contract(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    post = doc["paths"]["/callback-requests"]["post"]
    assert set(post["responses"]) >= {"201", "200", "422", "429"}
    item = doc["paths"]["/callback-requests/{token}"]
    assert {"get", "delete"} <= set(item)
    schema = doc["components"]["schemas"]["CallbackRequestInput"]
    assert set(schema["properties"]) >= {"name", "business_name", "siret", "sector", "phone", "email", "postal_code",
                                         "topic", "description", "urgent", "urgency_reason", "preferred_window",
                                         "consent"}
    assert schema["properties"]["topic"]["enum"] == ["aides", "activite_partielle", "pge", "charges", "sanitaire",
                                                     "formalites", "autre"]


def test_cors_allows_configured_partner_origins_only(_migrated, valid_json):
    app = make_app(CORS_ORIGINS=["https://partenaire.example.fr"])
    with app.app_context():
        client = app.test_client()
        preflight = client.options(URL, headers={"Origin": "https://partenaire.example.fr",
                                                 "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "Content-Type"})
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://partenaire.example.fr"
        other = client.options(URL, headers={"Origin": "https://evil.example",
                                             "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in other.headers
        assert "Access-Control-Allow-Origin" not in client.get("/").headers
