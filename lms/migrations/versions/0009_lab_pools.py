"""Warm lab pools: pooled sessions, each pool's health, cohorts' pool schedules.

Revision ID: 0009_lab_pools
Revises: 0008_lab_jobs
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_lab_pools'
down_revision = '0008_lab_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lab_pool_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=48), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["lab_sessions.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("lab_pool_sessions") as batch:
        batch.create_index("ix_lab_pool_sessions_lab_slug", ["lab_slug"])
        batch.create_index("ix_lab_pool_sessions_status", ["status"])
        batch.create_index("ix_lab_pool_sessions_session_id", ["session_id"])
    op.create_table(
        "lab_pool_states",
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("retry_after", sa.DateTime(), nullable=True),
        sa.Column("planned_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("lab_slug"),
    )
    op.create_table(
        "lab_pool_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("lab_pool_schedules") as batch:
        batch.create_index("ix_lab_pool_schedules_cohort_id", ["cohort_id"])
        batch.create_index("ix_lab_pool_schedules_ends_at", ["ends_at"])


def downgrade():
    op.drop_table("lab_pool_schedules")
    op.drop_table("lab_pool_states")
    op.drop_table("lab_pool_sessions")
