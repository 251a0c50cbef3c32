"""A fresh schema from the migrations, for the benchmarks that build their own data."""
from __future__ import annotations

from sqlalchemy import text

from chamber_callback.extensions import db


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
