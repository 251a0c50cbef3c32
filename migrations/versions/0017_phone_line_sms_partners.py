"""The phone line and the other channels: each inbound call and where it got in the menu, inbound
text messages (once each), the numbers that answered STOP, and a longer channel on requests
(``web:<partner>`` for the partner sites' button).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 08:00:00

"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inbound_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=20), nullable=True),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("started_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["request_id"], ["callback_requests.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_inbound_calls_call_sid", "inbound_calls", ["call_sid"], unique=True)
    op.create_index("ix_inbound_calls_started_at", "inbound_calls", ["started_at"])
    op.create_table(
        "inbound_messages",
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("keyword", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("received_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("message_sid"),
    )
    op.create_table(
        "sms_opt_outs",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("created_at", chamber_callback.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("phone"),
    )
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.alter_column("channel", existing_type=sa.String(length=16), type_=sa.String(length=40),
                              existing_nullable=False)


def downgrade():
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.alter_column("channel", existing_type=sa.String(length=40), type_=sa.String(length=16),
                              existing_nullable=False)
    op.drop_table("sms_opt_outs")
    op.drop_table("inbound_messages")
    op.drop_index("ix_inbound_calls_started_at", table_name="inbound_calls")
    op.drop_index("uq_inbound_calls_call_sid", table_name="inbound_calls")
    op.drop_table("inbound_calls")
