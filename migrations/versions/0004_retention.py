"""Retention: when a request's personal data was erased.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', chamber_callback.types.UTCDateTime(timezone=True), nullable=True))
    op.create_index('ix_callback_requests_closed', 'callback_requests', ['closed_at'])


def downgrade():
    op.drop_index('ix_callback_requests_closed', table_name='callback_requests')
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
