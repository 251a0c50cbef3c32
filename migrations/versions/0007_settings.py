"""Runtime settings changed by admins (SLA, escalation, crisis switches).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 03:20:00.000000

"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=True),
    sa.Column('updated_at', chamber_callback.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['staff_users.id'], ),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('settings')
