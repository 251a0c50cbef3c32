"""Campaigns: proactive calls through the same queue (contacts are callback_requests rows with
campaign_id), their questions' answers, contacts imports and the « Ne plus m'appeler » list.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 08:00:00

"""
import sqlalchemy as sa
from alembic import op

import chamber_callback.types

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('in_call', 'offered', 'queued', 'retry_wait', 'scheduled')"
ACTIVE_CALLBACK = f"{ACTIVE} AND campaign_id IS NULL"
UTC = chamber_callback.types.UTCDateTime(timezone=True)


def upgrade():
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("topic_id", sa.Integer(), sa.ForeignKey("topics.id"), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("call_from", sa.String(length=5), nullable=False),
        sa.Column("call_until", sa.String(length=5), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_gap_minutes", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("agent_share", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "campaign_units",
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("regional_units.id", ondelete="CASCADE"), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "unit_id"),
    )
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("origin_request_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_callback_requests_campaign_id", "campaigns", ["campaign_id"], ["id"],
                                    ondelete="CASCADE")
        batch_op.create_foreign_key("fk_callback_requests_origin_request_id", "callback_requests",
                                    ["origin_request_id"], ["id"], ondelete="SET NULL")
        batch_op.drop_index("uq_callback_requests_active_phone")
        batch_op.create_index("uq_callback_requests_active_phone", ["phone"], unique=True,
                              sqlite_where=sa.text(ACTIVE_CALLBACK), postgresql_where=sa.text(ACTIVE_CALLBACK))
        batch_op.create_index("uq_callback_requests_campaign_phone", ["campaign_id", "phone"], unique=True,
                              sqlite_where=sa.text("campaign_id IS NOT NULL"),
                              postgresql_where=sa.text("campaign_id IS NOT NULL"))
        batch_op.create_index("ix_callback_requests_campaign_queue", ["campaign_id", "status", "unit_id"])
        batch_op.create_index("ix_callback_requests_origin", ["origin_request_id"])
    op.create_table(
        "campaign_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("callback_requests.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("question_key", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("agent_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("answered_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_campaign_answers_request_question", "campaign_answers", ["request_id", "question_key"],
                    unique=True)
    op.create_index("ix_campaign_answers_campaign", "campaign_answers", ["campaign_id", "question_key"])
    op.create_table(
        "campaign_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("file_digest", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_campaign_imports_campaign_id", "campaign_imports", ["campaign_id"])
    op.create_table(
        "call_opt_outs",
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("campaign_id", sa.Integer(), sa.ForeignKey("campaigns.id", ondelete="SET NULL"), nullable=True),
        sa.PrimaryKeyConstraint("phone"),
    )


def downgrade():
    op.drop_table("call_opt_outs")
    op.drop_index("ix_campaign_imports_campaign_id", table_name="campaign_imports")
    op.drop_table("campaign_imports")
    op.drop_index("ix_campaign_answers_campaign", table_name="campaign_answers")
    op.drop_index("uq_campaign_answers_request_question", table_name="campaign_answers")
    op.drop_table("campaign_answers")
    with op.batch_alter_table("callback_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_callback_requests_origin")
        batch_op.drop_index("ix_callback_requests_campaign_queue")
        batch_op.drop_index("uq_callback_requests_campaign_phone")
        batch_op.drop_index("uq_callback_requests_active_phone")
        batch_op.create_index("uq_callback_requests_active_phone", ["phone"], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.drop_constraint("fk_callback_requests_origin_request_id", type_="foreignkey")
        batch_op.drop_constraint("fk_callback_requests_campaign_id", type_="foreignkey")
        batch_op.drop_column("origin_request_id")
        batch_op.drop_column("campaign_id")
    op.drop_table("campaign_units")
    op.drop_table("campaigns")
