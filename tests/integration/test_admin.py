"""Crisis administration: who may use it, every change audited (old → new), runtime settings,
and the crisis switches as the artisan and the regional platform see them."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from chamber_callback.domain.actors import Actor
from chamber_callback.extensions import db
from chamber_callback.models import (
    AuditEvent,
    CallbackRequest,
    ClosedDay,
    Departement,
    RegionalUnit,
    Setting,
    StaffUser,
    Topic,
)
from chamber_callback.services import settings
from chamber_callback.services.assignment import claim_next
from tests.integration.helpers import PASSWORD, T0, make_request, make_staff, request_by_id, sign_in

ADMINS = {"manager", "admin"}
ROLES = ("agent", "senior", "manager", "admin", "dpo")
DATA = {"admin", "dpo"}
PARIS = ZoneInfo("Europe/Paris")

# Every administration route. A new one must be added here (see test_every_admin_route_is_in_the_matrix).
ADMIN_MATRIX = {
    ("GET", "/admin/"): ADMINS,
    ("GET", "/admin/utilisateurs"): ADMINS,
    ("GET", "/admin/utilisateurs/nouveau"): ADMINS,
    ("POST", "/admin/utilisateurs/nouveau"): ADMINS,
    ("GET", "/admin/utilisateurs/999999"): ADMINS,
    ("POST", "/admin/utilisateurs/999999"): ADMINS,
    ("POST", "/admin/utilisateurs/999999/desactiver"): ADMINS,
    ("POST", "/admin/utilisateurs/999999/reactiver"): ADMINS,
    ("POST", "/admin/utilisateurs/999999/mot-de-passe"): ADMINS,
    ("POST", "/admin/utilisateurs/999999/double-authentification"): ADMINS,
    ("GET", "/admin/unites"): ADMINS,
    ("GET", "/admin/unites/999999"): ADMINS,
    ("POST", "/admin/unites/999999"): ADMINS,
    ("POST", "/admin/unites/999999/horaires"): ADMINS,
    ("POST", "/admin/unites/999999/senior"): ADMINS,
    ("POST", "/admin/departements/XX/unite"): ADMINS,
    ("GET", "/admin/sujets"): ADMINS,
    ("POST", "/admin/sujets"): ADMINS,
    ("POST", "/admin/sujets/999999"): ADMINS,
    ("POST", "/admin/sujets/999999/deplacer"): ADMINS,
    ("GET", "/admin/jours-fermes"): ADMINS,
    ("POST", "/admin/jours-fermes"): ADMINS,
    ("POST", "/admin/jours-fermes/999999/supprimer"): ADMINS,
    ("GET", "/admin/jours-feries"): ADMINS,
    ("GET", "/admin/delais"): ADMINS,
    ("POST", "/admin/delais"): ADMINS,
    ("GET", "/admin/crise"): ADMINS,
    ("POST", "/admin/crise"): ADMINS,
    ("GET", "/admin/journal"): ADMINS | DATA,
    ("GET", "/admin/donnees"): DATA,
    ("POST", "/admin/donnees/dossier"): DATA,
    ("POST", "/admin/donnees/export.json"): DATA,
    ("POST", "/admin/donnees/effacer"): DATA,
    ("POST", "/admin/donnees/informations"): DATA,
}


@pytest.fixture(autouse=True)
def _restore_reference_data(app):
    """Units, départements and topics come from the migrations and outlive each test: put them back."""
    units = {u.id: (u.name, u.opening_hours) for u in db.session.scalars(select(RegionalUnit))}
    departements = {d.code: d.unit_id for d in db.session.scalars(select(Departement))}
    topics = {t.id: (t.label, t.position, t.active) for t in db.session.scalars(select(Topic))}
    db.session.commit()
    yield
    db.session.rollback()
    for unit in db.session.scalars(select(RegionalUnit)):
        unit.name, unit.opening_hours = units[unit.id]
    for departement in db.session.scalars(select(Departement)):
        departement.unit_id = departements[departement.code]
    for topic in db.session.scalars(select(Topic)).all():
        if topic.id in topics:
            topic.label, topic.position, topic.active = topics[topic.id]
        else:
            db.session.execute(db.text("DELETE FROM agent_skills WHERE topic_id = :id"), {"id": topic.id})
            db.session.delete(topic)
    db.session.commit()


def login(client, user, password=PASSWORD):
    return sign_in(client, user, password)


@pytest.fixture
def admin_client(app):
    admin = make_staff(role="admin", availability="offline")
    client = app.test_client()
    assert login(client, admin).status_code == 302
    client.admin = admin
    return client


def admin_events(action=None):
    db.session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action.like("admin.%")).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return db.session.scalars(query).all()


def changes_of(event) -> dict:
    return event.data["changes"]


def unit(code) -> RegionalUnit:
    return db.session.scalar(select(RegionalUnit).where(RegionalUnit.code == code))


def page(response) -> str:
    return response.get_data(as_text=True)


# --- who may use it --------------------------------------------------------------------------------

@pytest.mark.parametrize("role", list(ROLES) + ["anonymous"])
def test_admin_route_role_matrix(app, role):
    for (method, path), allowed in ADMIN_MATRIX.items():
        client = app.test_client()
        if role != "anonymous":
            assert login(client, make_staff(role=role, availability="offline")).status_code == 302
        response = client.open(path, method=method, data={})
        if role == "anonymous":
            assert response.status_code == 302 and "/connexion" in response.headers["Location"], (method, path)
        elif role in allowed:
            assert response.status_code not in (401, 403), (role, method, path, response.status_code)
            assert "/connexion" not in response.headers.get("Location", ""), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path, response.status_code)


def test_every_admin_route_is_in_the_matrix(app):
    adapter = app.url_map.bind("localhost")
    covered = set()
    for method, path in ADMIN_MATRIX:
        endpoint, _args = adapter.match(path, method=method)
        covered.add((endpoint, method))
    declared = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
                for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert declared == covered, sorted(declared ^ covered)


def test_administration_link_only_for_managers_and_admins(app):
    for role, shown in (("agent", False), ("senior", False), ("manager", True), ("admin", True)):
        client = app.test_client()
        login(client, make_staff(role=role, availability="offline"))
        assert ('href="/admin/"' in page(client.get("/notifications"))) is shown, role


# --- users -----------------------------------------------------------------------------------------

def test_create_edit_and_audit_a_user(app, admin_client):
    response = admin_client.post("/admin/utilisateurs/nouveau", data={
        "email": "Nadia.Roux@cma.fr", "name": "Nadia Roux", "role": "agent", "unit_id": str(unit("ouest").id),
        "phone": "06 11 22 33 44", "capacity": "2", "skills": ["aides", "pge"], "password": ""})
    assert response.status_code == 200
    shown = page(response)
    assert "Compte créé" in shown and "affiché qu'une fois" in shown
    password = shown.split('id="new-password">')[1].split("<")[0]
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == "nadia.roux@cma.fr"))
    assert user.phone == "+33611223344" and user.capacity == 2 and {t.code for t in user.skills} == {"aides", "pge"}
    assert login(app.test_client(), user, password).status_code == 302  # the generated password works
    created = admin_events("admin.user_created")[0]
    assert created.actor_type == "staff" and created.actor_id == str(admin_client.admin.id)
    assert changes_of(created)["account"]["new"]["role"] == "agent" and password not in str(created.data)

    response = admin_client.post(f"/admin/utilisateurs/{user.id}", data={
        "name": "Nadia Roux-Martin", "role": "senior", "unit_id": str(unit("est").id), "phone": "07 81 23 45 67",
        "capacity": "3", "skills": ["aides"]})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(StaffUser, user.id)
    assert (user.name, user.role, user.unit.code, user.phone, user.capacity) == (
        "Nadia Roux-Martin", "senior", "est", "+33781234567", 3)
    changes = changes_of(admin_events("admin.user_updated")[0])
    assert changes["role"] == {"old": "agent", "new": "senior"}
    assert changes["unit"] == {"old": "ouest", "new": "est"}
    assert changes["phone"] == {"old": "+33611223344", "new": "+33781234567"}
    assert changes["capacity"] == {"old": 2, "new": 3}
    assert changes["skills"] == {"old": ["aides", "pge"], "new": ["aides"]}
    assert changes["name"]["new"] == "Nadia Roux-Martin"
    assert user.id == admin_events("admin.user_updated")[0].staff_user_id


def test_bad_user_input_shows_the_message_and_writes_nothing(app, admin_client):
    agent = make_staff(role="agent", unit="ouest", availability="offline")
    before = (agent.phone, agent.unit_id, agent.role)
    response = admin_client.post(f"/admin/utilisateurs/{agent.id}", data={
        "name": "Agent", "role": "agent", "unit_id": str(unit("ouest").id), "phone": "12", "capacity": "1"})
    assert response.status_code == 422
    assert 'id="phone-error"' in page(response) and "Rien n'a été enregistré" in page(response)
    response = admin_client.post(f"/admin/utilisateurs/{agent.id}", data={
        "name": "Agent", "role": "agent", "unit_id": "", "capacity": "1"})
    assert response.status_code == 422 and "appartient à une unité" in page(response)
    response = admin_client.post(f"/admin/utilisateurs/{agent.id}", data={
        "name": "Agent", "role": "agent", "unit_id": str(unit("ouest").id), "capacity": "40"})
    assert response.status_code == 422 and "De 1 à 10 appels" in page(response)
    response = admin_client.post("/admin/utilisateurs/nouveau", data={
        "email": agent.email, "name": "Doublon", "role": "manager", "capacity": "1",
        "password": "un-secret-assez-long"})
    assert response.status_code == 422 and "existe déjà" in page(response)
    response = admin_client.post("/admin/utilisateurs/nouveau", data={
        "email": "court@cma.fr", "name": "Court", "role": "manager", "capacity": "1", "password": "court"})
    assert response.status_code == 422 and "10 caractères" in page(response)
    db.session.expire_all()
    assert (db.session.get(StaffUser, agent.id).phone, db.session.get(StaffUser, agent.id).unit_id,
            db.session.get(StaffUser, agent.id).role) == before
    assert admin_events() == []
    assert db.session.scalar(select(StaffUser).where(StaffUser.email == "court@cma.fr")) is None


def test_reset_password_ends_sessions_and_never_audits_the_password(app, admin_client):
    agent = make_staff(availability="offline")
    agent_client = app.test_client()
    login(agent_client, agent)
    assert agent_client.get("/console").status_code == 200
    response = admin_client.post(f"/admin/utilisateurs/{agent.id}/mot-de-passe", data={"password": "nouveau-secret-42"})
    assert response.status_code == 200 and "nouveau-secret-42" in page(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert agent_client.get("/console").status_code == 302  # logged out
    assert login(app.test_client(), agent).status_code == 401  # old password refused
    assert login(app.test_client(), agent, "nouveau-secret-42").status_code == 302
    event = admin_events("admin.password_reset")[0]
    assert changes_of(event) == {"password": {"old": None, "new": "password reset"}}
    assert "nouveau-secret-42" not in str(event.data) and event.staff_user_id == agent.id
    short = admin_client.post(f"/admin/utilisateurs/{agent.id}/mot-de-passe", data={"password": "court"})
    assert short.status_code == 422 and "10 caractères" in page(short)


def test_deactivated_agent_cannot_log_in_and_its_held_request_goes_back(app, admin_client):
    agent = make_staff(availability="available")
    agent_client = app.test_client()
    login(agent_client, agent)
    request = make_request()
    held = claim_next(agent, T0)
    assert held is not None and request_by_id(request.id).status == "in_call"
    response = admin_client.post(f"/admin/utilisateurs/{agent.id}/desactiver")
    assert response.status_code == 302
    request = request_by_id(request.id)
    assert request.status == "queued" and request.assigned_agent_id is None
    user = db.session.get(StaffUser, agent.id)
    assert not user.is_active_account and user.availability == "offline"
    assert agent_client.get("/console").status_code == 302  # its session ended
    assert login(app.test_client(), agent).status_code == 401
    assert changes_of(admin_events("admin.user_deactivated")[0]) == {"active": {"old": True, "new": False}}
    # An admin cannot lock itself out.
    admin_client.post(f"/admin/utilisateurs/{admin_client.admin.id}/desactiver")
    assert db.session.get(StaffUser, admin_client.admin.id).is_active_account
    admin_client.post(f"/admin/utilisateurs/{agent.id}/reactiver")
    assert login(app.test_client(), agent).status_code == 302
    assert changes_of(admin_events("admin.user_activated")[0]) == {"active": {"old": False, "new": True}}


def test_users_list_filters_by_unit_and_role(app, admin_client):
    west = make_staff(role="agent", unit="ouest", email="bretagne@example.fr")
    east = make_staff(role="senior", unit="est", email="alsace@example.fr")
    listing = page(admin_client.get(f"/admin/utilisateurs?unite={unit('ouest').id}"))
    assert west.email in listing and east.email not in listing
    listing = page(admin_client.get("/admin/utilisateurs?role=senior"))
    assert east.email in listing and west.email not in listing


# --- units -----------------------------------------------------------------------------------------

def test_rename_unit_and_make_a_senior(app, admin_client):
    west = unit("ouest")
    old_senior = make_staff(role="senior", unit="ouest")
    agent = make_staff(role="agent", unit="ouest")
    renamed = admin_client.post(f"/admin/unites/{west.id}", data={"name": "Bretagne – Pays de la Loire"})
    assert renamed.status_code == 302
    assert changes_of(admin_events("admin.unit_updated")[0])["name"]["new"] == "Bretagne – Pays de la Loire"
    response = admin_client.post(f"/admin/unites/{west.id}/senior", data={"user_id": str(agent.id), "replace": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(StaffUser, agent.id).role == "senior"
    assert db.session.get(StaffUser, old_senior.id).role == "agent"
    roles = [changes_of(e)["role"] for e in admin_events("admin.user_updated")]
    assert {"old": "agent", "new": "senior"} in roles and {"old": "senior", "new": "agent"} in roles
    shown = page(admin_client.get(f"/admin/unites/{west.id}"))
    assert "Bretagne – Pays de la Loire" in shown and agent.name in shown
    # Someone of another unit cannot be made senior here.
    other = make_staff(role="agent", unit="est")
    response = admin_client.post(f"/admin/unites/{west.id}/senior", data={"user_id": str(other.id)})
    assert response.status_code == 422 and "agent actif de cette unité" in page(response)


@pytest.mark.parametrize("row, message", [
    ({"day0_open": "8h", "day0_close": "21:00"}, "format HH:MM"),
    ({"day0_open": "21:00", "day0_close": "08:00"}, "L&#39;ouverture doit précéder la fermeture"),
    ({"day0_open": "25:00", "day0_close": "26:00"}, "format HH:MM"),
])
def test_opening_hours_validation(app, admin_client, row, message):
    west = unit("ouest")
    data = {f"day{d}_{k}": v for d in range(1, 7) for k, v in (("open", "08:00"), ("close", "21:00"))}
    data.update(row)
    response = admin_client.post(f"/admin/unites/{west.id}/horaires", data=data)
    assert response.status_code == 422 and message in page(response)
    assert 'id="day0_' in page(response).split("field-error")[1][:40] or "day0_" in page(response)
    db.session.expire_all()
    assert unit("ouest").opening_hours is None and admin_events() == []


def test_opening_hours_all_closed_is_refused(app, admin_client):
    response = admin_client.post(f"/admin/unites/{unit('ouest').id}/horaires",
                                 data={f"day{d}_closed": "y" for d in range(7)})
    assert response.status_code == 422 and "Ouvrez au moins un jour" in page(response)


def test_opening_hours_change_moves_waiting_deadlines_under_the_business_clock(app, admin_client):
    settings.update({"SLA_CLOCK": "business"}, Actor("system", "test"), T0)
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)
    request = make_request(unit="ouest", now=tuesday)
    assert request.sla_deadline == datetime(2026, 11, 25, 21, 0, tzinfo=PARIS)  # 11 h + 13 h of opening
    data = {f"day{d}_{k}": v for d in range(6) for k, v in (("open", "08:00"), ("close", "18:00"))}
    data["day6_closed"] = "y"
    response = admin_client.post(f"/admin/unites/{unit('ouest').id}/horaires", data=data)
    assert response.status_code == 302
    # Tuesday 10–18 (8 h) + Wednesday 8–18 (10 h) + Thursday 8–14 (6 h).
    assert request_by_id(request.id).sla_deadline == datetime(2026, 11, 26, 14, 0, tzinfo=PARIS)
    event = admin_events("admin.unit_updated")[0]
    assert changes_of(event)["opening_hours"]["old"]["0"] == ["08:00", "21:00"]
    assert changes_of(event)["opening_hours"]["new"]["0"] == ["08:00", "18:00"]
    assert "6" not in changes_of(event)["opening_hours"]["new"]


def test_move_a_departement_to_another_unit(app, admin_client, valid_json):
    response = admin_client.post("/admin/departements/13/unite", data={"code": "13", "unit_id": str(unit("est").id)})
    assert response.status_code == 302
    moved = changes_of(admin_events("admin.departement_moved")[0])
    assert moved == {"departement 13": {"old": "sud-est", "new": "est"}}
    created = app.test_client().post("/api/v1/callback-requests", json=valid_json)  # postal code 13008
    assert created.status_code == 201 and created.get_json()["unit"] == "est"


# --- topics ----------------------------------------------------------------------------------------

def test_topics_create_rename_reorder_and_deactivate(app, admin_client, valid_json):
    agent = make_staff(skills=["aides"])
    response = admin_client.post("/admin/sujets", data={"code": "inondations", "label": "Aides inondations",
                                                        "give_to_agents": "y"})
    assert response.status_code == 302
    topic = db.session.scalar(select(Topic).where(Topic.code == "inondations"))
    assert topic.active and "inondations" in {t.code for t in db.session.get(StaffUser, agent.id).skills}
    assert changes_of(admin_events("admin.topic_created")[0])["topic"]["new"]["code"] == "inondations"
    assert {"code": "inondations", "label": "Aides inondations"} in app.test_client().get("/api/v1/topics").get_json()[
        "topics"]
    bad = admin_client.post("/admin/sujets", data={"code": "Inondations !", "label": "X"})
    assert bad.status_code == 422 and "lettres minuscules" in page(bad)
    duplicate = admin_client.post("/admin/sujets", data={"code": "aides", "label": "Encore"})
    assert duplicate.status_code == 422 and "existe déjà" in page(duplicate)

    admin_client.post(f"/admin/sujets/{topic.id}", data={f"t{topic.id}-label": "Crue de la Loire",
                                                         f"t{topic.id}-active": "y"})
    change = changes_of(admin_events("admin.topic_updated")[-1])
    assert change["label"] == {"old": "Aides inondations", "new": "Crue de la Loire"}
    admin_client.post(f"/admin/sujets/{topic.id}/deplacer", data={"direction": "up"})
    order = changes_of(admin_events("admin.topic_updated")[-1])["order"]
    assert order["old"][-1] == "inondations" and order["new"][-2] == "inondations"

    pge = db.session.scalar(select(Topic).where(Topic.code == "pge"))
    admin_client.post(f"/admin/sujets/{pge.id}", data={f"t{pge.id}-label": pge.label})  # unticked: inactive
    assert changes_of(admin_events("admin.topic_updated")[-1])["active"] == {"old": True, "new": False}
    public = app.test_client()
    assert "pge" not in [t["code"] for t in public.get("/api/v1/topics").get_json()["topics"]]
    assert 'value="pge"' not in page(public.get("/"))
    refused = public.post("/api/v1/callback-requests", json=valid_json)  # topic "pge"
    assert refused.status_code == 422 and "topic" in refused.get_json()["errors"]
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 0
    # The code is part of the API contract: there is no way to change it.
    admin_client.post(f"/admin/sujets/{pge.id}", data={f"t{pge.id}-label": "X", f"t{pge.id}-code": "autre"})
    db.session.expire_all()
    assert db.session.get(Topic, pge.id).code == "pge"


# --- closed days -----------------------------------------------------------------------------------

def test_closed_day_from_the_page_moves_a_waiting_deadline(app, admin_client):
    admin_client.post("/admin/delais", data=_sla_form(SLA_CLOCK="business"))
    tuesday = datetime(2026, 11, 24, 10, 0, tzinfo=PARIS)
    request = make_request(unit="est", now=tuesday)
    assert request.sla_deadline == datetime(2026, 11, 25, 21, 0, tzinfo=PARIS)
    response = admin_client.post("/admin/jours-fermes", data={"day": "2026-11-25", "unit_id": str(unit("est").id),
                                                              "reason": "Inondations"})
    assert response.status_code == 302
    assert request_by_id(request.id).sla_deadline == datetime(2026, 11, 26, 21, 0, tzinfo=PARIS)
    event = admin_events("admin.closed_day_added")[0]
    assert changes_of(event)["closed_day"] == {"old": None, "new": {"day": "2026-11-25", "unit": "est",
                                                                    "reason": "Inondations"}}
    closed = db.session.scalar(select(ClosedDay))
    admin_client.post(f"/admin/jours-fermes/{closed.id}/supprimer")
    assert request_by_id(request.id).sla_deadline == datetime(2026, 11, 25, 21, 0, tzinfo=PARIS)
    assert changes_of(admin_events("admin.closed_day_removed")[0])["closed_day"]["new"] is None
    bad = admin_client.post("/admin/jours-fermes", data={"day": "25/11/2026"})
    assert bad.status_code == 422 and db.session.scalar(select(func.count()).select_from(ClosedDay)) == 0


def test_public_holidays_view_shows_alsace_moselle_and_overseas(app, admin_client):
    shown = page(admin_client.get("/admin/jours-feries"))
    assert "Alsace" in shown and "Moselle" in shown and "Saint-Étienne" in shown and "Vendredi saint" in shown
    assert "Guadeloupe" in shown and "Abolition de l" in shown and "Noël" in shown


# --- settings --------------------------------------------------------------------------------------

def _sla_form(**overrides):
    data = {"SLA_HOURS": "24", "SLA_CLOCK": "calendar", "SLA_MET_ON": "first_attempt",
            "ESCALATION_LEVELS": "half@50:raise; senior@75:raise,senior; breach@100:top,manager,overflow",
            "ESCALATION_REPEAT_HOURS": "4", "OFFER_TIMEOUT_SECONDS": "120", "RETRY_GAP_MINUTES": "30",
            "MAX_ATTEMPTS": "3"}
    data.update(overrides)
    return data


def test_settings_override_config_and_apply_to_the_next_request(app, admin_client, valid_form):
    assert settings.get("SLA_HOURS") == app.config["SLA_HOURS"] == 24
    shown = page(admin_client.get("/admin/delais"))
    assert "les échéances déjà calculées ne bougent pas" in shown
    response = admin_client.post("/admin/delais", data=_sla_form(SLA_HOURS="4,5", MAX_ATTEMPTS="5",
                                                                  ESCALATION_LEVELS="late@90:top,manager"))
    assert response.status_code == 302
    events = admin_events("admin.settings_updated")
    assert sorted(next(iter(changes_of(e))) for e in events) == ["ESCALATION_LEVELS", "MAX_ATTEMPTS", "SLA_HOURS"]
    by_key = {k: v for e in events for k, v in changes_of(e).items()}
    assert by_key["SLA_HOURS"] == {"old": 24.0, "new": 4.5} and by_key["MAX_ATTEMPTS"] == {"old": 3, "new": 5}
    assert by_key["ESCALATION_LEVELS"]["new"] == "late@90:top,manager"
    assert all(e.actor_id == str(admin_client.admin.id) for e in events)
    assert db.session.get(Setting, "SLA_HOURS").updated_by_id == admin_client.admin.id
    assert [level.code for level in settings.get("ESCALATION_LEVELS")] == ["late"]
    assert app.config["SLA_HOURS"] == 24  # the configuration itself is untouched

    before = datetime.now(UTC)
    artisan = app.test_client()
    response = artisan.post("/", data=valid_form)
    assert response.status_code == 302
    created = db.session.scalar(select(CallbackRequest))
    assert abs(created.sla_deadline - before - timedelta(hours=4.5)) <= timedelta(minutes=1)
    assert "rappel sous 4,5 h" in page(artisan.get(response.headers["Location"]))
    # Saving the same values again changes nothing and audits nothing.
    admin_client.post("/admin/delais", data=_sla_form(SLA_HOURS="4,5", MAX_ATTEMPTS="5",
                                                      ESCALATION_LEVELS="late@90:top,manager"))
    assert len(admin_events("admin.settings_updated")) == 3


def test_bad_settings_show_messages_and_store_nothing(app, admin_client):
    response = admin_client.post("/admin/delais", data=_sla_form(ESCALATION_LEVELS="half@150:raise",
                                                                  OFFER_TIMEOUT_SECONDS="5", SLA_HOURS="0"))
    shown = page(response)
    assert response.status_code == 422 and "Rien n'a été enregistré" in shown
    assert "Niveaux invalides" in shown and "Entre 15 et 3600" in shown and "Entre 0,1 et 240." in shown
    assert db.session.scalar(select(func.count()).select_from(Setting)) == 0 and admin_events() == []


# --- crisis switches -------------------------------------------------------------------------------

def _crisis(client, **values):
    data = {"CHAMBER_PHONE": "03 80 63 13 00", "PUBLIC_BANNER": "", "INTAKE_PAUSED_MESSAGE": ""}
    data.update(values)
    return client.post("/admin/crise", data=data)


def test_pause_intake_shows_message_and_phone_and_stores_nothing(app, admin_client, valid_form, valid_json):
    assert _crisis(admin_client, INTAKE_PAUSED="y",
                   INTAKE_PAUSED_MESSAGE="Inondations : nos conseillers sont mobilisés sur place.").status_code == 302
    event = next(e for e in admin_events("admin.settings_updated") if "INTAKE_PAUSED" in changes_of(e))
    assert changes_of(event)["INTAKE_PAUSED"] == {"old": False, "new": True}
    artisan = app.test_client()
    shown = page(artisan.get("/"))
    assert "Inondations : nos conseillers sont mobilisés sur place." in shown and "03 80 63 13 00" in shown
    assert 'name="phone"' not in shown  # no form
    refused = artisan.post("/", data=valid_form)
    assert refused.status_code == 503 and "03 80 63 13 00" in page(refused)
    assert "Votre demande n'a pas été enregistrée" in page(refused)
    api = artisan.post("/api/v1/callback-requests", json=valid_json)
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert "Inondations" in api.get_json()["detail"] and api.get_json()["chamber_phone"] == "03 80 63 13 00"
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 0
    # Back to normal: the form is there again.
    _crisis(admin_client)
    assert 'name="phone"' in page(artisan.get("/"))


def test_pause_needs_a_message(app, admin_client):
    response = _crisis(admin_client, INTAKE_PAUSED="y")
    assert response.status_code == 422 and "Expliquez aux artisans" in page(response)
    assert settings.get("INTAKE_PAUSED") is False


def test_urgent_only_refuses_non_urgent_requests_on_the_form_and_the_api(app, admin_client, valid_form, valid_json):
    assert _crisis(admin_client, INTAKE_URGENT_ONLY="y").status_code == 302
    artisan = app.test_client()
    shown = page(artisan.get("/"))
    assert "seules les demandes urgentes sont acceptées" in shown
    refused = artisan.post("/", data=valid_form)
    shown = page(refused)
    assert refused.status_code == 422
    assert 'id="urgent-error"' in shown and "nous ne prenons que les demandes urgentes" in shown
    api = artisan.post("/api/v1/callback-requests", json={**valid_json, "urgent": False})
    assert api.status_code == 422 and "urgentes" in api.get_json()["errors"]["urgent"][0]
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 0
    accepted = artisan.post("/", data={**valid_form, "urgent": "y", "urgency_reason": "activite_menacee"})
    assert accepted.status_code == 302
    assert artisan.post("/api/v1/callback-requests", json=valid_json).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 2


def test_banner_on_form_confirmation_and_status_pages(app, admin_client, valid_form):
    _crisis(admin_client, PUBLIC_BANNER="Crue : délais de rappel allongés <b>aujourd'hui</b>")
    artisan = app.test_client()
    banner = "Crue : délais de rappel allongés &lt;b&gt;aujourd&#39;hui&lt;/b&gt;"  # shown as text, escaped
    assert banner in page(artisan.get("/"))
    confirmation = artisan.post("/", data=valid_form).headers["Location"]
    confirmation_page = page(artisan.get(confirmation))
    assert banner in confirmation_page
    status_path = "/suivi/" + confirmation_page.split("/suivi/")[1].split('"')[0].split("<")[0]
    assert banner in page(artisan.get(status_path))
    assert "Crue" not in page(admin_client.get("/admin/utilisateurs"))  # staff pages do not carry it


# --- the journal -----------------------------------------------------------------------------------

def test_journal_lists_who_what_and_old_to_new(app, admin_client):
    pge = db.session.scalar(select(Topic).where(Topic.code == "pge"))
    admin_client.post(f"/admin/sujets/{pge.id}", data={f"t{pge.id}-label": "Prêt garanti (PGE)",
                                                       f"t{pge.id}-active": "y"})
    shown = page(admin_client.get("/admin/journal"))
    assert "Sujet modifié" in shown and admin_client.admin.name in shown
    assert "Prêt garanti (PGE)" in shown and "→" in shown
    for index in range(55):
        settings.update({"PUBLIC_BANNER": f"message {index}"}, Actor("staff", str(admin_client.admin.id)), T0)
    first = page(admin_client.get("/admin/journal"))
    assert "Page 1 sur 2" in first and "message 54" in first and "message 3 " not in first
    assert "Sujet modifié" in page(admin_client.get("/admin/journal?page=2"))


def test_settings_get_works_outside_requests(app):
    assert settings.get("MAX_ATTEMPTS") == app.config["MAX_ATTEMPTS"]
    settings.update({"MAX_ATTEMPTS": 7}, Actor("system", "test"), T0)
    assert settings.get("MAX_ATTEMPTS") == 7
    from chamber_callback.services.assignment import Settings
    assert Settings.from_config().max_attempts == 7


def test_openapi_documents_the_crisis_answers(app, client):
    responses = client.get("/api/v1/openapi.json").get_json()["paths"]["/callback-requests"]["post"]["responses"]
    assert "paused callback requests" in responses["503"]["description"]
    assert "urgent requests only" in responses["422"]["description"]


def test_only_an_admin_manages_admin_accounts(app):
    manager = make_staff(role="manager", availability="offline")
    admin = make_staff(role="admin", availability="offline")
    client = app.test_client()
    login(client, manager)
    promoted = client.post(f"/admin/utilisateurs/{manager.id}", data={"name": manager.name, "role": "admin",
                                                                      "capacity": "1"})
    assert promoted.status_code == 422 and "Seul un administrateur" in page(promoted)
    client.post(f"/admin/utilisateurs/{admin.id}/desactiver")
    client.post(f"/admin/utilisateurs/{admin.id}/mot-de-passe", data={"password": "un-autre-secret-42"})
    db.session.expire_all()
    assert db.session.get(StaffUser, manager.id).role == "manager"
    assert db.session.get(StaffUser, admin.id).is_active_account
    assert login(app.test_client(), admin).status_code == 302  # password unchanged
    assert admin_events() == []
    # Managers still run everything else, other managers' accounts included.
    other = make_staff(role="manager", availability="offline")
    assert client.post(f"/admin/utilisateurs/{other.id}/desactiver").status_code == 302
    assert not db.session.get(StaffUser, other.id).is_active_account


def test_two_admins_saving_the_same_setting_at_once(app):
    from tests.integration.helpers import run_at_once

    def save(index):
        settings.update({"PUBLIC_BANNER": f"message {index}"}, Actor("system", f"admin-{index}"), T0)

    run_at_once(app, save, 4)
    value = db.session.get(Setting, "PUBLIC_BANNER").value
    assert value in {f"message {i}" for i in range(4)}
    events = admin_events("admin.settings_updated")
    assert len(events) == 4 and changes_of(events[-1])["PUBLIC_BANNER"]["new"] == value


def test_a_refused_password_keeps_the_account_form_filled(app, admin_client):
    agent = make_staff(role="agent", unit="ouest", availability="offline")
    response = admin_client.post(f"/admin/utilisateurs/{agent.id}/mot-de-passe", data={"password": "court"})
    assert response.status_code == 422
    assert f'value="{agent.name}"' in page(response)  # the profile form still shows the account


def test_admin_home_shows_the_switches_and_units_without_senior(app, admin_client):
    make_staff(role="senior", unit="ouest")
    shown = page(admin_client.get("/admin/"))
    assert "Interrupteurs de crise" in shown and "ouvertes" in shown
    assert "Unités sans senior" in shown and unit("est").name in shown
    assert unit("ouest").name not in shown.split("Unités sans senior")[1].split("</p>")[0]
    _crisis(admin_client, INTAKE_PAUSED="y", INTAKE_PAUSED_MESSAGE="Fermé")
    assert "SUSPENDUES" in page(admin_client.get("/admin/"))


def test_opening_hours_shown_to_artisans_come_from_the_settings(app, admin_client):
    """Before: the footer and the form said « du lundi au samedi, 8 h – 21 h » whatever the chamber did."""
    artisan = app.test_client()
    assert "du lundi au samedi, 8 h – 21 h" in page(artisan.get("/"))
    assert _crisis(admin_client, CHAMBER_HOURS="7 jours sur 7, de 7 h à 22 h pendant la crue").status_code == 302
    shown = page(artisan.get("/"))
    assert "du lundi au samedi" not in shown
    assert shown.count("7 jours sur 7, de 7 h à 22 h pendant la crue") == 2  # the form's lead and the footer
    assert _crisis(admin_client, CHAMBER_HOURS="").status_code == 302
    assert "Appelez le 03 80 63 13 00." in page(artisan.get("/"))


def test_a_chamber_replaces_the_footer_with_its_own_template(_migrated, tmp_path):
    from tests.conftest import make_app

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "footer.html").write_text("<p>CMA Bourgogne · 03 80 63 13 00 · mentions légales</p>")
    app = make_app(SITE_TEMPLATES=str(tmp_path))
    with app.app_context():
        shown = page(app.test_client().get("/"))
    assert "CMA Bourgogne · 03 80 63 13 00 · mentions légales" in shown
    assert "délégué à la protection des données" not in shown  # the packaged default is replaced


def test_the_journal_page_number_is_clamped(app, admin_client):
    """Before: a page far past the end gave an empty page, and a huge number an error."""
    _crisis(admin_client, PUBLIC_BANNER="Crue de la Saône : rappels maintenus.")
    for page_number in ("99999999999999999999", "0", "-3", "deux"):
        shown = admin_client.get(f"/admin/journal?page={page_number}")
        assert shown.status_code == 200, page_number
        assert "message public" in page(shown) and "Page" not in page(shown).split("</table>")[1][:200]
