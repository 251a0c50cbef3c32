"""A second private link per request: the one sent in a reminder when someone submits again for a
phone that already has an active request (the first link keeps working).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("callback_requests") as batch:
        batch.add_column(sa.Column("reminder_token_digest", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_callback_requests_reminder_token_digest", ["reminder_token_digest"])


def downgrade():
    with op.batch_alter_table("callback_requests") as batch:
        batch.drop_constraint("uq_callback_requests_reminder_token_digest", type_="unique")
        batch.drop_column("reminder_token_digest")
