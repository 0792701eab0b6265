"""lab sessions, task attempts, completions and flag shares

Revision ID: 7a3c1e9b2d40
Revises: 5e12817b4dbe
Create Date: 2026-11-27 14:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = "7a3c1e9b2d40"
down_revision = "5e12817b4dbe"
branch_labels = None
depends_on = None

LIVE = sa.text("status IN ('starting', 'running')")


def upgrade():
    op.create_table(
        "lab_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=48), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("end_reason", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lab_sessions_key", "lab_sessions", ["key"], unique=True)
    op.create_index("ix_lab_sessions_user_id", "lab_sessions", ["user_id"])
    op.create_index("ix_lab_sessions_lab_slug", "lab_sessions", ["lab_slug"])
    op.create_index("ix_lab_sessions_status", "lab_sessions", ["status"])
    op.create_index(
        "uq_lab_sessions_live", "lab_sessions", ["user_id", "lab_slug"], unique=True,
        sqlite_where=LIVE, postgresql_where=LIVE,
    )

    op.create_table(
        "lab_task_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["lab_sessions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lab_task_attempts_session_id", "lab_task_attempts", ["session_id"])
    op.create_index("ix_lab_task_attempts_user_id", "lab_task_attempts", ["user_id"])
    op.create_index("ix_lab_task_attempts_created_at", "lab_task_attempts", ["created_at"])
    op.create_index(
        "ix_lab_task_attempts_recent", "lab_task_attempts",
        ["user_id", "lab_slug", "kind", "created_at"],
    )

    op.create_table(
        "lab_task_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["session_id"], ["lab_sessions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "lab_slug", "task_id"),
    )
    op.create_index("ix_lab_task_completions_user_id", "lab_task_completions", ["user_id"])

    op.create_table(
        "lab_flag_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["session_id"], ["lab_sessions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["submitter_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lab_flag_shares_submitter_id", "lab_flag_shares", ["submitter_id"])
    op.create_index("ix_lab_flag_shares_owner_id", "lab_flag_shares", ["owner_id"])
    op.create_index("ix_lab_flag_shares_created_at", "lab_flag_shares", ["created_at"])


def downgrade():
    op.drop_table("lab_flag_shares")
    op.drop_table("lab_task_completions")
    op.drop_table("lab_task_attempts")
    op.drop_table("lab_sessions")
