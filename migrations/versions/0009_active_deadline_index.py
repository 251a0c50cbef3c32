"""Partial index on the deadlines of active requests: the dashboard's breached and at-risk lists
read it in deadline order instead of walking a year of closed requests.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 04:30:00

"""
import sqlalchemy as sa
from alembic import op

from chamber_callback.domain.lifecycle import ACTIVE_SQL

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_callback_requests_active_deadline", "callback_requests", ["sla_deadline"],
                    sqlite_where=sa.text(ACTIVE_SQL), postgresql_where=sa.text(ACTIVE_SQL))


def downgrade():
    op.drop_index("ix_callback_requests_active_deadline", table_name="callback_requests")
