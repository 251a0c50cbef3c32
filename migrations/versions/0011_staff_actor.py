"""Audit events name a staff member one way: actor type ``staff`` with the account id. Events
written by agents before were typed ``agent``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 02:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("UPDATE audit_events SET actor_type = 'staff' WHERE actor_type = 'agent'")


def downgrade():
    pass  # the two spellings meant the same person; nothing to undo
