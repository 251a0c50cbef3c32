"""The Alembic migrations build exactly the schema the models describe."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from chamber_callback.extensions import db
from chamber_callback.models import Departement, RegionalUnit, Topic


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_queue_and_sla_indexes_exist(app):
    indexes = {ix["name"]: ix for ix in inspect(db.engine).get_indexes("callback_requests")}
    assert indexes["ix_callback_requests_status_deadline"]["column_names"] == ["status", "sla_deadline"]
    assert indexes["ix_callback_requests_queue"]["column_names"] == ["status", "urgent", "sla_deadline"]
    assert indexes["uq_callback_requests_active_phone"]["unique"]


def test_reference_data_is_seeded_by_the_migration(app):
    assert db.session.scalar(select(func.count()).select_from(RegionalUnit)) == 5
    assert db.session.scalar(select(func.count()).select_from(Departement)) == 102
    assert db.session.get(Departement, "2A").unit.code == "sud-est"
    assert db.session.get(Departement, "976").unit.code == "idf-nord-om"
    assert db.session.scalars(select(Topic.code).order_by(Topic.position)).all() == [
        "aides", "activite_partielle", "pge", "charges", "sanitaire", "formalites", "autre"]
