"""The time-window indexes of 0008 carry the columns the dashboard counts, so PostgreSQL answers
those counts from the index alone (index-only scans) instead of visiting each row.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 05:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# name: (table, columns before, columns after)
INDEXES = {
    "ix_callback_requests_sla_met_at": ("callback_requests", ["sla_met_at"], ["sla_met_at", "sla_met", "unit_id"]),
    "ix_callback_requests_sla_deadline": ("callback_requests", ["sla_deadline"],
                                          ["sla_deadline", "sla_met", "closed_at", "unit_id"]),
    "ix_callback_requests_first_attempt_at": ("callback_requests", ["first_attempt_at"],
                                              ["first_attempt_at", "id", "time_to_first_attempt_s", "sla_met",
                                               "unit_id"]),
    "ix_call_attempts_started_at": ("call_attempts", ["started_at"], ["started_at", "request_id", "agent_id"]),
}


def upgrade():
    for name, (table, _before, after) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, after)


def downgrade():
    for name, (table, before, _after) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before)
