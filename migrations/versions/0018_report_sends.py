"""Reports sent once a day (the prefecture's needs report): one row per kind and day, the claim.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 08:00:00

"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_sends",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("claimed_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("sent_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sent_to", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_report_sends_kind_day", "report_sends", ["kind", "day"], unique=True)


def downgrade():
    op.drop_index("uq_report_sends_kind_day", table_name="report_sends")
    op.drop_table("report_sends")
