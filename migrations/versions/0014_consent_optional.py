"""``consent_at`` is set only when the artisan gave consent: with a public-interest legal basis
(``LEGAL_BASIS=public_interest``) the form informs instead of asking, and nothing is recorded.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 05:00:00

"""
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("callback_requests") as batch:
        batch.alter_column("consent_at", existing_type=chamber_callback.types.UTCDateTime(timezone=True),
                           nullable=True)


def downgrade():
    op.execute("UPDATE callback_requests SET consent_at = submitted_at WHERE consent_at IS NULL")
    with op.batch_alter_table("callback_requests") as batch:
        batch.alter_column("consent_at", existing_type=chamber_callback.types.UTCDateTime(timezone=True),
                           nullable=False)
