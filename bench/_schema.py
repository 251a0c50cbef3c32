"""A fresh schema from the migrations, for the benchmarks that build their own data."""
from __future__ import annotations

from sqlalchemy import create_engine, insert, text

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest

CHUNK = 5_000


def fresh_schema() -> None:
    """Drop everything (the PostgreSQL schema, or SQLite's tables) and migrate from scratch."""
    from flask_migrate import upgrade

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade()


def empty_postgres(url: str) -> None:
    """Drop and recreate the public schema of a PostgreSQL database, outside any application."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def insert_requests(rows: list[dict]) -> None:
    """Synthetic requests in bulk (chunks of ``CHUNK``), committed; PostgreSQL's statistics refreshed."""
    for start in range(0, len(rows), CHUNK):
        db.session.execute(insert(CallbackRequest), rows[start:start + CHUNK])
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()
