"""The expected callback window of each waiting request, and, for the calibration, the window in
force when the first call started.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:00:00

"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

MOMENTS = ("eta_from", "eta_to", "eta_updated_at", "eta_told_from", "announced_from", "announced_to")


def upgrade():
    with op.batch_alter_table("callback_requests") as batch:
        for name in MOMENTS:
            batch.add_column(sa.Column(name, chamber_callback.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("eta_reason", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("announced_width_s", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("callback_requests") as batch:
        for name in (*MOMENTS, "eta_reason", "announced_width_s"):
            batch.drop_column(name)
