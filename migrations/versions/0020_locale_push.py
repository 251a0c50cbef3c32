"""The artisan's language on each request (its messages are written in it), and the browsers agents
asked to be notified on (Web Push subscriptions).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 08:00:00

"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

UTC = chamber_callback.types.UTCDateTime(timezone=True)


def upgrade():
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=8), nullable=True))
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), sa.ForeignKey("staff_users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("endpoint", sa.String(length=1000), nullable=False),
        sa.Column("p256dh", sa.String(length=200), nullable=False),
        sa.Column("auth", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("last_sent_at", UTC, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    op.create_index("ix_push_subscriptions_staff_user_id", "push_subscriptions", ["staff_user_id"])


def downgrade():
    op.drop_index("ix_push_subscriptions_staff_user_id", table_name="push_subscriptions")
    op.drop_table("push_subscriptions")
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.drop_column("locale")
