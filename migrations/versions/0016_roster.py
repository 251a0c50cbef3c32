"""The roster: each agent's usual hours by weekday, and the days that differ (days off, other hours).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 07:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "roster_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=False),
        sa.Column("end", sa.String(length=5), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_roster_templates_user_weekday", "roster_templates", ["user_id", "weekday"], unique=True)
    op.create_table(
        "roster_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start", sa.String(length=5), nullable=True),
        sa.Column("end", sa.String(length=5), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_roster_days_user_day", "roster_days", ["user_id", "day"], unique=True)
    op.create_index("ix_roster_days_day", "roster_days", ["day"])


def downgrade():
    op.drop_index("ix_roster_days_day", table_name="roster_days")
    op.drop_index("uq_roster_days_user_day", table_name="roster_days")
    op.drop_table("roster_days")
    op.drop_index("uq_roster_templates_user_weekday", table_name="roster_templates")
    op.drop_table("roster_templates")
