"""Indexes for the dashboard and reports: every time window they count is read through one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 04:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

INDEXES = {
    "ix_callback_requests_submitted_at": ("callback_requests", ["submitted_at"]),
    "ix_callback_requests_sla_deadline": ("callback_requests", ["sla_deadline"]),
    "ix_callback_requests_sla_met_at": ("callback_requests", ["sla_met_at"]),
    "ix_callback_requests_first_attempt_at": ("callback_requests", ["first_attempt_at"]),
    "ix_call_attempts_started_at": ("call_attempts", ["started_at"]),
}


def upgrade():
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade():
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table_name=table)
