"""The dashboard's time-window indexes carry ``campaign_id`` too: since campaigns (0019) every
figure is about callback requests only (``campaign_id IS NULL``), a column the covering indexes
of 0010 did not hold, so PostgreSQL visited each row of a 7-day window again to check it. The
windows on ``closed_at`` (abandonment) and ``submitted_at`` (requests received, per channel)
get the columns they count as well. Not ``ix_callback_requests_first_attempt_at``: it holds
``id``, and with ``campaign_id`` too PostgreSQL would read all of it, a million entries, to join
a week of calls with their requests (``/rapports`` went from 300 to 520 ms).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 13:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# name: (table, columns before, columns after)
INDEXES = {
    "ix_callback_requests_sla_met_at": ("callback_requests", ["sla_met_at", "sla_met", "unit_id"],
                                        ["sla_met_at", "sla_met", "unit_id", "campaign_id"]),
    "ix_callback_requests_sla_deadline": ("callback_requests", ["sla_deadline", "sla_met", "closed_at", "unit_id"],
                                          ["sla_deadline", "sla_met", "closed_at", "unit_id", "campaign_id"]),
    "ix_callback_requests_closed": ("callback_requests", ["closed_at"],
                                    ["closed_at", "status", "unit_id", "campaign_id"]),
    "ix_callback_requests_submitted_at": ("callback_requests", ["submitted_at"],
                                          ["submitted_at", "channel", "unit_id", "campaign_id"]),
}


def upgrade():
    for name, (table, _before, after) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, after)


def downgrade():
    for name, (table, before, _after) in INDEXES.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before)
