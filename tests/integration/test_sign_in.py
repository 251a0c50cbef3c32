"""Signing in and out: sessions that really end, throttles that do not lock the owner out,
answers that do not tell which accounts exist, passwords that are hard to guess."""
import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from chamber_callback.clock import utcnow
from chamber_callback.domain.actors import Actor
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, StaffUser
from chamber_callback.services import admin as admin_service
from tests.conftest import empty_tables, make_app
from tests.integration.helpers import PASSWORD, make_staff
from tests.integration.test_staff_access import login


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _replay(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/console")


def test_a_cookie_saved_before_logout_opens_nothing_after_it(app):
    """Before: replaying the cookie (same User-Agent) opened the console again."""
    agent = make_staff(availability="offline")
    client = app.test_client()
    login(client, agent)
    saved = _cookie(client)
    assert _replay(app, saved).status_code == 200
    client.post("/deconnexion")
    assert _replay(app, saved).status_code == 302
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.signed_out"))
    assert event.actor_type == "staff" and event.staff_user_id == agent.id


@pytest.mark.parametrize("how", ["deactivated", "reset"])
def test_an_admin_ends_every_session_of_the_account(app, how):
    agent, admin = make_staff(availability="offline"), make_staff(role="admin", availability="offline")
    client = app.test_client()
    login(client, agent)
    saved = _cookie(client)
    if how == "deactivated":
        admin_service.set_account_active(agent.id, False, actor=Actor.staff(admin.id), now=utcnow())
    else:
        admin_service.reset_password(agent.id, None, actor=Actor.staff(admin.id), now=utcnow())
    assert _replay(app, saved).status_code == 302


def test_sessions_end_after_the_idle_time_and_the_longest_day(app, freeze_clock):
    agent = make_staff(availability="offline")
    start = utcnow()
    freeze_clock(start)
    client = app.test_client()
    login(client, agent)
    freeze_clock(start + timedelta(hours=7, minutes=59))
    assert client.get("/console").status_code == 200  # within the idle time: still open, and seen again
    for hours in (15, 15.9):  # active all day: the idle clock keeps being reset
        freeze_clock(start + timedelta(hours=hours))
        assert client.get("/console").status_code == 200
    freeze_clock(start + timedelta(hours=16, minutes=1))  # past the longest session
    response = client.get("/console")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]
    assert "Votre session a expiré" in client.get("/connexion").get_data(as_text=True)
    other = app.test_client()
    freeze_clock(start)
    login(other, agent)
    freeze_clock(start + timedelta(hours=8, minutes=1))  # idle for more than 8 hours
    assert other.get("/console").status_code == 302


def test_an_unknown_account_costs_as_much_as_a_wrong_password(app, client):
    """Before: 120–150 ms for a wrong password, 10–12 ms for an unknown e-mail."""
    user = make_staff(availability="offline")

    def timed(email: str) -> float:
        runs = []
        for n in range(3):
            begin = time.perf_counter()
            assert client.post("/connexion", data={"email": email, "password": "pas-le-bon-123"},
                               environ_base={"REMOTE_ADDR": f"192.0.2.{len(runs) + n * 10 + len(email)}"}
                               ).status_code == 401
            runs.append(time.perf_counter() - begin)
        return min(runs)

    known, unknown = timed(user.email), timed("personne@example.fr")
    assert unknown > known * 0.5, (known, unknown)  # the same password check in both cases


def test_a_stranger_guessing_elsewhere_does_not_lock_the_owner_out(_migrated, caplog):
    """Before: five wrong passwords from anywhere locked the real owner out for the hour, and the
    limiter's log line carried the account's e-mail."""
    app = make_app(LOGIN_LIMIT="3/minute")
    with app.app_context():
        user = make_staff(email="victime@example.fr")
        attacker, owner = app.test_client(), app.test_client()
        caplog.set_level(logging.INFO)
        codes = [attacker.post("/connexion", data={"email": user.email, "password": "devine-123456"},
                               environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        welcome = owner.post("/connexion", data={"email": user.email, "password": PASSWORD},
                             environ_base={"REMOTE_ADDR": "192.0.2.10"})
        assert welcome.status_code == 302  # from the owner's usual place
        assert "victime@example.fr" not in caplog.text
        empty_tables()


def test_the_password_page_is_throttled_and_refuses_weak_passwords(_migrated):
    """Before: no throttle (a stolen session could guess the current password without limit), and
    « aaaaaaaaaa » was accepted."""
    app = make_app(LOGIN_LIMIT="3/minute")
    with app.app_context():
        agent = make_staff(availability="offline")
        client = app.test_client()
        login(client, agent)
        weak = client.post("/compte/mot-de-passe", data={"current": PASSWORD, "new": "aaaaaaaaaa"})
        assert weak.status_code == 422 and "trop facile à deviner" in weak.get_data(as_text=True)
        codes = [client.post("/compte/mot-de-passe", data={"current": "devine-1234", "new": "lampe-riviere-orage-27"})
                 .status_code for _ in range(3)]
        assert codes == [422, 422, 429]
        db.session.expire_all()
        assert db.session.get(StaffUser, agent.id).check_password(PASSWORD)
        empty_tables()


@pytest.mark.parametrize("password", ["aaaaaaaaaa", "azerty12345", "motdepasse1", "0612345678"])
def test_every_place_a_password_is_set_refuses_guessable_ones(app, password):
    from chamber_callback.services.admin import AdminError
    from chamber_callback.services.staff import AccountError, create_user

    with pytest.raises(AccountError, match="trop facile"):
        create_user(email="nouveau@example.fr", role="manager", password=password, now=utcnow())
    admin, agent = make_staff(role="admin", availability="offline"), make_staff(availability="offline")
    with pytest.raises(AdminError, match="trop facile"):
        admin_service.reset_password(agent.id, password, actor=Actor.staff(admin.id), now=utcnow())
    generated = admin_service.reset_password(agent.id, None, actor=Actor.staff(admin.id), now=utcnow())
    assert len(generated) >= 20  # a generated password passes the same rule


def test_a_console_left_open_still_times_out(app, freeze_clock):
    """Review: the console's own polling kept the session « seen », so it never went idle."""
    agent = make_staff(availability="offline")
    start = utcnow()
    freeze_clock(start)
    client = app.test_client()
    login(client, agent)
    for minutes in range(0, 8 * 60 + 5, 60):  # the tab polls all day; nobody touches it
        freeze_clock(start + timedelta(minutes=minutes))
        client.get("/console/panneau")
    freeze_clock(start + timedelta(hours=8, minutes=5))
    assert client.get("/console").status_code == 302
