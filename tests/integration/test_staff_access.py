"""Who may do what: the route × role matrix, login throttling, tokens, the staff API."""
import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import ApiToken, AuditEvent, CallbackRequest, StaffUser
from tests.conftest import empty_tables, make_app
from tests.integration.helpers import PASSWORD, T0, make_request, make_staff, sign_in, token_for

CALL = {"agent", "senior"}
SUPERVISORS = {"senior", "manager", "admin"}
EVERYONE = {"agent", "senior", "manager", "admin", "dpo"}

# Every staff route and who may use it. A new route must be added here (see the last test).
CONSOLE_MATRIX = {
    ("GET", "/console"): CALL,
    ("GET", "/console/panneau"): CALL,
    ("POST", "/console/disponibilite"): CALL,
    ("POST", "/console/offres/999999/accepter"): CALL,
    ("POST", "/console/offres/999999/refuser"): CALL,
    ("POST", "/console/suivant"): CALL,
    ("POST", "/console/demandes/XXXX-XXXX/appel"): CALL,
    ("POST", "/console/demandes/XXXX-XXXX/rendre"): CALL,
    ("POST", "/console/appels/999999/resultat"): CALL,
    ("POST", "/console/appels/999999/correction"): CALL,
    ("POST", "/console/notifications-push"): CALL,
    ("POST", "/console/notifications-push/supprimer"): CALL,
    ("GET", "/console/demandes/XXXX-XXXX"): EVERYONE,
    ("POST", "/console/demandes/XXXX-XXXX/demande-de-rappel"): CALL | SUPERVISORS,
    ("GET", "/console/historique"): CALL,
    ("GET", "/console/planning"): CALL,
    ("GET", "/console/simulateur-appel"): EVERYONE,
    ("POST", "/console/simulateur-appel/etape"): EVERYONE,
    ("GET", "/equipe"): SUPERVISORS,
    ("GET", "/equipe/planning"): SUPERVISORS,
    ("POST", "/equipe/planning/modele"): SUPERVISORS,
    ("POST", "/equipe/planning/jour"): SUPERVISORS,
    ("POST", "/equipe/planning/import"): SUPERVISORS,
    ("GET", "/compte/mot-de-passe"): EVERYONE,
    ("POST", "/deconnexion"): EVERYONE,
    ("GET", "/notifications"): EVERYONE,
    ("POST", "/notifications/lues"): EVERYONE,
}
API_MATRIX = {
    ("GET", "/api/v1/me"): EVERYONE,
    ("PUT", "/api/v1/me/availability"): CALL,
    ("GET", "/api/v1/me/offer"): CALL,
    ("POST", "/api/v1/offers/999999/accept"): CALL,
    ("POST", "/api/v1/offers/999999/decline"): CALL,
    ("POST", "/api/v1/me/next"): CALL,
    ("POST", "/api/v1/requests/XXXX-XXXX/attempts"): CALL,
    ("POST", "/api/v1/attempts/999999/outcome"): CALL,
    ("POST", "/api/v1/attempts/999999/correction"): CALL,
    ("GET", "/api/v1/requests/XXXX-XXXX"): EVERYONE,
}


def login(client, user):
    response = sign_in(client, user)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


@pytest.mark.parametrize("role", sorted(EVERYONE) + ["anonymous"])
def test_console_route_role_matrix(app, role):
    for (method, path), allowed in CONSOLE_MATRIX.items():
        client = app.test_client()
        if role != "anonymous":
            login(client, make_staff(role=role, availability="offline"))
        response = client.open(path, method=method, data={})
        if role == "anonymous":
            assert response.status_code == 302 and "/connexion" in response.headers["Location"], (method, path)
        elif role in allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.status_code)
            if path != "/deconnexion":  # logging out rightly lands on the login page
                assert "/connexion" not in response.headers.get("Location", ""), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


@pytest.mark.parametrize("role", sorted(EVERYONE) + ["anonymous"])
def test_staff_api_role_matrix(app, client, role):
    headers = {} if role == "anonymous" else token_for(make_staff(role=role, availability="offline"))
    for (method, path), allowed in API_MATRIX.items():
        response = client.open(path, method=method, json={}, headers=headers)
        if role == "anonymous":
            assert response.status_code == 401, (method, path)
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        elif role in allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.status_code)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert response.mimetype == "application/problem+json"


def test_every_staff_route_is_in_the_matrix(app):
    covered = {path.split("/")[1] for _method, path in CONSOLE_MATRIX}
    rules = {(rule.endpoint, rule.rule) for rule in app.url_map.iter_rules()}
    # The sign-in pages are for the anonymous (tests/integration/test_two_factor.py covers the code pages),
    # and so are the installable console's files (tests/integration/test_push.py).
    staff_endpoints = {endpoint for endpoint, _rule in rules if endpoint.startswith("staff.")} - {
        "staff.login", "staff.sign_in_code", "staff.sign_in_enrol", "staff.manifest", "staff.service_worker",
        "staff.offline"}
    assert len(staff_endpoints) == len(CONSOLE_MATRIX), sorted(staff_endpoints)
    assert covered <= {"console", "equipe", "compte", "deconnexion", "notifications"}
    api_staff = {endpoint for endpoint, rule in rules if endpoint.startswith("api.") and (
        "/me" in rule or "/offers" in rule or "/attempts" in rule or rule == "/api/v1/requests/<ref:reference>")}
    assert len(api_staff) == len(API_MATRIX), sorted(api_staff)


def test_login_logout_and_landing_page_per_role(app, client):
    agent = make_staff(availability="offline")
    assert login(client, agent).headers["Location"] == "/console"
    page = client.get("/console").get_data(as_text=True)
    assert "Mon état" in page and "Hors ligne" in page
    client.post("/deconnexion")
    assert client.get("/console").status_code == 302
    manager = make_staff(role="manager")
    assert login(app.test_client(), manager).headers["Location"] == "/pilotage"


def test_wrong_password_is_refused_and_login_is_throttled(_migrated):
    app = make_app(LOGIN_LIMIT="3/minute")
    with app.app_context():
        user = make_staff(email="throttle@example.fr")
        client = app.test_client()
        codes = [client.post("/connexion", data={"email": user.email, "password": "wrong-password"}).status_code
                 for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        page = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
        assert page.status_code == 429  # even the right password waits now
        empty_tables()


def test_password_change_ends_other_sessions(app):
    agent = make_staff()
    first, second = app.test_client(), app.test_client()
    login(first, agent)
    login(second, agent)
    response = first.post("/compte/mot-de-passe", data={"current": PASSWORD, "new": "un-nouveau-secret"})
    assert response.status_code == 302
    assert first.get("/console").status_code == 200  # the session that changed it stays
    assert second.get("/console").status_code == 302  # the other one is logged out
    assert first.post("/compte/mot-de-passe", data={"current": "mauvais", "new": "encore-un-autre"}).status_code == 422


def test_console_flow_through_the_pages(app, run_jobs):
    agent = make_staff(availability="offline")
    client = app.test_client()
    login(client, agent)
    request = make_request()
    client.post("/console/disponibilite", data={"state": "available"})
    page = client.get("/console").get_data(as_text=True)
    assert "Nouvel appel proposé" in page and request.business_name in page
    version = page.split('data-version="')[1].split('"')[0]
    assert client.get(f"/console/panneau?v={version}").status_code == 204  # nothing changed
    offer_id = int(page.split("/console/offres/")[1].split("/")[0])
    client.post(f"/console/offres/{offer_id}/accepter")
    page = client.get("/console").get_data(as_text=True)
    assert "Appel en main" in page and f"tel:{request.phone}" in page and "Question" in page
    client.post(f"/console/demandes/{request.reference}/appel")
    page = client.get("/console").get_data(as_text=True)
    attempt_id = int(page.split("/console/appels/")[1].split("/")[0])
    client.post(f"/console/appels/{attempt_id}/resultat", data={"outcome": "reached_resolved", "note": "OK"})
    page = client.get("/console").get_data(as_text=True)
    assert "Résultat enregistré" in page
    assert "Joint : question réglée" in page  # in "Ma journée"
    card = client.get(f"/console/demandes/{request.reference}").get_data(as_text=True)
    assert "Chronologie" in card and "attempt.reached_resolved" in card
    # Who did each step, by name: the agent (recorded as staff like every colleague) and the artisan.
    assert f"· <span class=\"muted\">{agent.name}</span>" in card and "l&#39;artisan" in card
    typed = request.reference.lower().replace("-", " ")  # as a colleague reads it out on the phone
    assert client.get(f"/console/demandes/{typed}").get_data(as_text=True) == card
    actors = {e.actor_type for e in db.session.scalars(select(AuditEvent).where(AuditEvent.request_id == request.id))}
    assert actors == {"artisan", "staff", "system"}
    db.session.expire_all()
    assert db.session.get(CallbackRequest, request.id).status == "completed"


def test_staff_api_drives_a_call(app, client):
    agent = make_staff(availability="offline")
    headers = token_for(agent)
    request = make_request()
    assert client.get("/api/v1/me/offer", headers=headers).status_code == 204
    body = client.put("/api/v1/me/availability", json={"state": "available"}, headers=headers).get_json()
    assert body["availability"] == "available"
    offer = client.get("/api/v1/me/offer", headers=headers).get_json()
    assert offer["request"]["reference"] == request.reference
    accepted = client.post(f"/api/v1/offers/{offer['id']}/accept", headers=headers)
    assert accepted.status_code == 200 and accepted.get_json()["phone"] == request.phone
    attempt = client.post(f"/api/v1/requests/{request.reference}/attempts", headers=headers)
    assert attempt.status_code == 201
    again = client.post(f"/api/v1/requests/{request.reference}/attempts", headers=headers)
    assert again.status_code == 409
    bad = client.post(f"/api/v1/attempts/{attempt.get_json()['id']}/outcome", json={"outcome": "maybe"},
                      headers=headers)
    assert bad.status_code == 422 and "outcome" in bad.get_json()["errors"]
    done = client.post(f"/api/v1/attempts/{attempt.get_json()['id']}/outcome",
                       json={"outcome": "no_answer", "note": "répondeur plein"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["status"] == "retry_wait"
    detail = client.get(f"/api/v1/requests/{request.reference}", headers=headers).get_json()
    assert [e["action"] for e in detail["timeline"]][-1] == "attempt.no_answer"
    assert detail["attempts"][0]["note"] == "répondeur plein"
    assert client.post("/api/v1/me/next", headers=headers).status_code == 204  # nothing else waits


def test_api_conflict_on_a_request_you_do_not_hold(app, client):
    holder, other = make_staff(capacity=2), make_staff()
    request = make_request()
    from chamber_callback.services.assignment import claim_next
    claim_next(holder, T0)
    response = client.post(f"/api/v1/requests/{request.reference}/attempts", headers=token_for(other))
    assert response.status_code == 409
    assert "ne tenez pas" in response.get_json()["detail"]


def test_agent_of_another_unit_cannot_read_a_request(app, client):
    request = make_request(unit="idf-nord-om")
    outsider = make_staff(unit="sud-est")
    assert client.get(f"/api/v1/requests/{request.reference}", headers=token_for(outsider)).status_code == 404
    manager = make_staff(role="manager")
    assert client.get(f"/api/v1/requests/{request.reference}", headers=token_for(manager)).status_code == 200


def test_cli_creates_users_and_issues_revocable_tokens(app, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Nadia@Example.fr", "--role", "agent", "--unit", "ouest",
                                 "--phone", "06 11 22 33 44", "--skills", "aides,pge"], input="mot-de-passe-long\n" * 2)
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "nadia@example.fr"))
    assert (user.role, user.unit.code, user.phone, user.capacity) == ("agent", "ouest", "+33611223344", 1)
    assert sorted(t.code for t in user.skills) == ["aides", "pge"]
    assert user.password_hash != "mot-de-passe-long" and user.check_password("mot-de-passe-long")

    bad = runner.invoke(args=["create-user", "x@example.fr", "--role", "agent", "--password", "short"])
    assert bad.exit_code != 0 and "10 caractères" in bad.output
    no_unit = runner.invoke(args=["create-user", "y@example.fr", "--role", "senior", "--password", "assez-long-oui"])
    assert no_unit.exit_code != 0 and "unité" in no_unit.output

    token = runner.invoke(args=["issue-token", "nadia@example.fr", "--label", "softphone"]).output.strip()
    assert token.startswith("ccb_")
    assert db.session.scalar(select(ApiToken.token_digest)) != token  # stored hashed
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert "1 token(s) revoked" in runner.invoke(args=["issue-token", "nadia@example.fr", "--revoke"]).output
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.staff_user_id == user.id)).all()
    assert actions == ["staff.created", "staff.token_issued", "staff.tokens_revoked"]


def test_a_follow_up_needs_a_time_on_every_channel(app, client):
    """One schema for the console and the API. Before: the API closed a « à rappeler » call without
    a time as completed, while the console refused it."""
    agent = make_staff(availability="offline")
    headers = token_for(agent)
    request = make_request()
    taken = client.post("/api/v1/me/next", headers=headers).get_json()
    attempt = client.post(f"/api/v1/requests/{taken['reference']}/attempts", headers=headers).get_json()
    refused = client.post(f"/api/v1/attempts/{attempt['id']}/outcome", headers=headers,
                          json={"outcome": "reached_follow_up"})
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["follow_up_at"] == [
        "Indiquez quand rappeler l'artisan, ou choisissez « Joint : question réglée »."]
    assert db.session.get(CallbackRequest, request.id).status == "in_call"  # nothing written
    far = client.post(f"/api/v1/attempts/{attempt['id']}/outcome", headers=headers,
                      json={"outcome": "reached_follow_up", "follow_up_at": "2099-01-01T10:00:00+01:00"})
    assert "30 jours" in far.get_json()["errors"]["follow_up_at"][0]
    console = app.test_client()
    login(console, agent)
    console.post(f"/console/appels/{attempt['id']}/resultat", data={"outcome": "reached_follow_up"})
    page = console.get("/console").get_data(as_text=True)
    assert "Indiquez quand rappeler l&#39;artisan" in page
    db.session.expire_all()
    assert db.session.get(CallbackRequest, request.id).status == "in_call"
