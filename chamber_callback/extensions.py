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
from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy import inspect as sa_inspect
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
    the unique key decides, so running the same write twice (retries, two workers) changes nothing.
    Without columns, any unique key of the table decides."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).on_conflict_do_nothing(index_elements=list(conflict_columns) or None)


def column_values(instance) -> dict:
    """The column attributes set on a new ORM object, for a Core or ORM-enabled ``INSERT``."""
    state = sa_inspect(instance)
    return {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs if attr.key in state.dict}


# --- many rows, each with its own values, in one statement ------------------------------------
# On PostgreSQL the rows travel as one array per column and are read back with ``unnest``: one
# statement and one round trip, where an executemany sends a statement per row (an UPDATE of
# 100 rows: 100 statements). SQLite runs in the process: an executemany of the same statement.

def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _array(column_name: str) -> str:
    return f"{column_name}__all"


@lru_cache(maxsize=64)
def _unnest(table, columns: tuple[str, ...]):
    """``unnest(:a__all, :b__all, …) AS v(a, b, …)``, each array typed as its column."""
    arrays = [bindparam(_array(name), type_=postgresql.ARRAY(table.c[name].type)) for name in columns]
    return func.unnest(*arrays).table_valued(*columns).render_derived(name="v")


@lru_cache(maxsize=64)
def _update_statement(table, key: str, columns: tuple[str, ...], on_postgresql: bool):
    if on_postgresql:
        rows = _unnest(table, (key, *columns))
        return update(table).where(table.c[key] == rows.c[key]).values({name: rows.c[name] for name in columns})
    return (update(table).where(table.c[key] == bindparam(f"{key}__key"))
            .values({name: bindparam(_array(name)) for name in columns}))


@lru_cache(maxsize=64)
def _insert_statement(table, columns: tuple[str, ...], common: tuple[str, ...], conflict: tuple[str, ...],
                      returning: tuple[str, ...], on_postgresql: bool):
    if on_postgresql:
        rows = _unnest(table, columns)
        values = [*(rows.c[name] for name in columns), *(bindparam(name, type_=table.c[name].type) for name in common)]
        statement = postgresql.insert(table).from_select([*columns, *common], select(*values))
    else:
        statement = sqlite.insert(table)
    if conflict:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    return statement


def update_many(model, rows: list[dict], key: str = "id") -> None:
    """UPDATE rows by ``key``, each with its own values (every dict has the same keys, ``key``
    among them): ``UPDATE … FROM unnest(…)`` on PostgreSQL, an executemany elsewhere. Core
    statements: objects already in the session are not refreshed (the caller commits)."""
    if not rows:
        return
    table = model.__table__
    columns = tuple(name for name in rows[0] if name != key)
    on_postgresql = _on_postgresql()
    statement = _update_statement(table, key, columns, on_postgresql)
    if on_postgresql:
        db.session.execute(statement, {_array(name): [row[name] for row in rows] for name in (key, *columns)})
    else:
        db.session.execute(statement, [{f"{key}__key": row[key], **{_array(name): row[name] for name in columns}}
                                       for row in rows])


def insert_many(model, rows: list[dict], common: dict | None = None, *, ignore_conflicts_on: tuple[str, ...] = (),
                returning: tuple[str, ...] = ()) -> list:
    """INSERT rows (every dict has the same keys; ``common``: the values shared by every row, sent
    once) in one statement on PostgreSQL (``INSERT … SELECT FROM unnest(…)``), an executemany
    elsewhere. ``ignore_conflicts_on`` adds ``ON CONFLICT (…) DO NOTHING`` (see
    ``insert_or_ignore``); the ``returning`` columns of the rows inserted are returned (only
    those: a row that conflicted returns nothing)."""
    if not rows:
        return []
    table, common = model.__table__, common or {}
    columns = tuple(rows[0])
    on_postgresql = _on_postgresql()
    statement = _insert_statement(table, columns, tuple(common), tuple(ignore_conflicts_on), tuple(returning),
                                  on_postgresql)
    if on_postgresql:
        result = db.session.execute(statement, {**{_array(name): [row[name] for row in rows] for name in columns},
                                                **common})
    else:
        result = db.session.execute(statement, [{**common, **row} for row in rows] if common else rows)
    return result.all() if returning else []


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
