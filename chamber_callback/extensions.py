"""Extension objects, created unbound here and bound to the app in create_app()."""
import sqlite3
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_conn, _record):
    """WAL + busy timeout so web and worker processes can share one SQLite file."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN (see _sqlite_begin)
    for pragma in ("journal_mode=WAL", "busy_timeout=15000", "foreign_keys=ON", "synchronous=NORMAL"):
        dbapi_conn.execute(f"PRAGMA {pragma}")
    dbapi_conn.create_function("cc_local", 3, sqlite_local_time, deterministic=True)


@lru_cache(maxsize=16)
def zone_named(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def sqlite_local_time(value: str | None, tz_name: str, fmt: str) -> str | None:
    """SQL function ``cc_local(ts, zone, format)`` on SQLite, which has no time zones: a stored UTC
    timestamp formatted in a local zone (PostgreSQL does the same with ``to_char(timezone(…))``)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value).replace(tzinfo=UTC)
    return moment.astimezone(zone_named(tz_name)).strftime(fmt)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    # A deferred transaction that has read cannot upgrade to a write once another writer
    # committed ("database is locked" without waiting); write paths ask for BEGIN IMMEDIATE.
    if conn.dialect.name == "sqlite":
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def insert_or_ignore(model, *conflict_columns: str):
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` for the database in use (PostgreSQL or SQLite):
    the unique key decides, so running the same write twice (retries, two workers) changes nothing."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing(index_elements=list(conflict_columns))


def begin_write() -> None:
    """Start a write transaction; on SQLite take the write lock up front (BEGIN IMMEDIATE).

    A read-only transaction already open (form validation reads topics and units) is
    ended first, since execution options only apply when a connection is procured.
    """
    session = db.session()  # the scoped session's current Session
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() called with unflushed changes pending")
        session.commit()
    session.connection(execution_options={"sqlite_immediate": True})
