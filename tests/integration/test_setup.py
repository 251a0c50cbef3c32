"""Configuration, demo seed, and a real forking RQ worker."""
import os
import stat
from datetime import date

import pytest
from rq import Worker
from sqlalchemy import func, select

from chamber_callback import config as config_module
from chamber_callback.config import ConfigError, load_config
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from chamber_callback.queues import ALL_QUEUES, get_queue


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY, DATABASE_URL, PUBLIC_BASE_URL"):
        load_config()
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://rappel.cma.example.fr/")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgres://cma@db/callbacks")
    monkeypatch.delenv("SMTP_URL", raising=False)
    monkeypatch.delenv("MAIL_LOG_IN_PRODUCTION", raising=False)
    # Before: without SMTP_URL, production wrote artisans' e-mails and private links to instance/mail.log.
    with pytest.raises(ConfigError, match="SMTP_URL"):
        load_config()
    monkeypatch.setenv("MAIL_LOG_IN_PRODUCTION", "1")  # said explicitly: accepted
    assert load_config()["MAIL_LOG_IN_PRODUCTION"] is True
    monkeypatch.delenv("MAIL_LOG_IN_PRODUCTION")
    monkeypatch.setenv("SMTP_URL", "smtps://rappels:secret@smtp.example.fr:465")
    settings = load_config()
    assert settings["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://cma@db/callbacks"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["PUBLIC_BASE_URL"] == "https://rappel.cma.example.fr"


def test_flask_env_production_is_honoured_too(monkeypatch):
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.setenv("FLASK_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_config()


def test_local_defaults_need_no_service(monkeypatch, tmp_path):
    for name in ("APP_ENV", "FLASK_ENV", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SLA_HOURS", "TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    first = load_config()
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'chamber_callback.sqlite3'}"
    assert first["REDIS_URL"] == config_module.embedded_redis_url() == "redis://127.0.0.1:6479/0"
    assert (first["SLA_HOURS"], first["TIMEZONE"], first["BABEL_DEFAULT_LOCALE"]) == (24.0, "Europe/Paris", "fr")
    key_file = tmp_path / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert load_config()["SECRET_KEY"] == first["SECRET_KEY"] == key_file.read_text()  # kept across restarts


def test_sla_hours_accepts_fractions_for_demos(monkeypatch):
    monkeypatch.setenv("SLA_HOURS", "0.05")
    assert load_config()["SLA_HOURS"] == 0.05


def test_seed_demo_creates_a_living_system_once(app):
    from chamber_callback.models import ArtisanMessage, CallAttempt, StaffUser

    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo", "--count", "30"])
    assert result.exit_code == 0, result.output
    assert "30 requests created" in result.output and "84 over the last 7 days" in result.output
    current = CallbackRequest.phone < "+33199001000"
    statuses = db.session.scalars(select(CallbackRequest.status).where(current)).all()
    assert len(statuses) == 30
    assert statuses.count("cancelled") == 3
    assert {"queued", "completed", "retry_wait", "scheduled"} <= set(statuses)
    assert all(p.startswith("+3319900") for p in db.session.scalars(select(CallbackRequest.phone)))
    # A week of history behind them, closed, called through the services, most within the SLA.
    history = db.session.scalars(select(CallbackRequest).where(~current)).all()
    assert len(history) == 84 and all(not r.is_active for r in history)
    met = [r.sla_met for r in history if r.sla_met is not None]
    assert 0.6 < sum(met) / len(met) < 1 and not all(met)
    assert db.session.scalar(select(func.count()).select_from(CallAttempt)) == 5 + len(met)
    assert db.session.scalar(select(func.count()).select_from(ArtisanMessage).where(
        ArtisanMessage.status == "pending", ArtisanMessage.request_id.in_([r.id for r in history]))) == 0
    staff = db.session.scalars(select(StaffUser)).all()
    assert sorted({u.role for u in staff}) == ["admin", "agent", "manager", "senior"]
    assert len([u for u in staff if u.role == "senior"]) == 5 and len(staff) == 22
    assert {u.availability for u in staff} == {"offline"}  # nobody gets offers before logging in
    assert all(u.skills for u in staff if u.role == "agent")
    # Everyone who takes calls has a usual week, so the callback windows follow the roster.
    from chamber_callback.models import RosterTemplate

    planned = set(db.session.scalars(select(RosterTemplate.user_id)))
    assert planned == {u.id for u in staff if u.role in ("agent", "senior")}
    waiting = db.session.scalars(select(CallbackRequest).where(current, CallbackRequest.status == "queued")).all()
    assert waiting and all(r.eta_from and r.eta_to for r in waiting)

    assert "already present" in runner.invoke(args=["seed-demo"]).output
    assert db.session.scalar(select(func.count()).select_from(CallbackRequest)) == 114
    logins = runner.invoke(args=["demo-logins"]).output
    assert "senior.ouest@demo.cma.fr" in logins and "rappel-demo-2026" in logins


def test_forking_worker_runs_assignment_jobs(client, redis_conn, valid_json):
    """The production worker forks a work-horse per job; it must get its own DB connections."""
    from workers import worker as worker_module  # noqa: F401  (the entry point imports cleanly)

    client.post("/api/v1/callback-requests", json=valid_json)
    db.session.commit()
    engine = db.engine
    def hook():
        return engine.dispose(close=False)
    os.register_at_fork(after_in_child=hook)
    queues = [get_queue(name, redis_conn) for name in ALL_QUEUES]
    Worker(queues, connection=redis_conn, serializer=queues[0].serializer).work(burst=True)
    db.session.expire_all()
    request = db.session.scalar(select(CallbackRequest))
    assert request.assignment_checked_at is not None


def test_unknown_sla_settings_are_refused(monkeypatch):
    monkeypatch.setenv("SLA_CLOCK", "lunar")
    with pytest.raises(ConfigError, match="SLA_CLOCK must be one of: calendar, business"):
        load_config()
    monkeypatch.setenv("SLA_CLOCK", "business")
    monkeypatch.setenv("SLA_MET_ON", "first_reach")
    settings = load_config()
    assert (settings["SLA_CLOCK"], settings["SLA_MET_ON"]) == ("business", "first_reach")


def test_sla_tick_and_closed_day_commands(app):
    runner = app.test_cli_runner()
    assert "due=0" in runner.invoke(args=["sla-tick"]).output
    closed = runner.invoke(args=["closed-day", "2026-12-24", "--unit", "est", "--reason", "Inondations"])
    assert closed.exit_code == 0 and "2026-12-24 closed for est" in closed.output
    from chamber_callback.models import ClosedDay
    from chamber_callback.services.sla import closed_days

    unit_id = db.session.scalar(select(ClosedDay.unit_id))
    assert closed_days(unit_id) == frozenset({date(2026, 12, 24)})
    assert closed_days(None) == frozenset()  # only that unit
    reopened = runner.invoke(args=["closed-day", "2026-12-24", "--unit", "est", "--remove"])
    assert "open again (1 closure(s) removed)" in reopened.output
