"""Team exercises (lms.exercises)

Revision ID: 0023_exercises
Revises: 0022_user_locale
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023_exercises"
down_revision = "0022_user_locale"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("lab_slug", sa.String(length=64), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("scoreboard", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("paused_at", sa.DateTime(), nullable=True),
        sa.Column("paused_seconds", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_exercises_created_by_id"), "exercises", ["created_by_id"], unique=False
    )
    op.create_index(op.f("ix_exercises_lab_slug"), "exercises", ["lab_slug"], unique=False)
    op.create_index(op.f("ix_exercises_status"), "exercises", ["status"], unique=False)
    op.create_table(
        "exercise_cohorts",
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("cohort_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["cohort_id"], ["cohorts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("exercise_id", "cohort_id"),
    )
    op.create_index(
        op.f("ix_exercise_cohorts_cohort_id"), "exercise_cohorts", ["cohort_id"], unique=False
    )
    op.create_table(
        "exercise_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("lab_session_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("notes_version", sa.Integer(), nullable=False),
        sa.Column("notes_updated_at", sa.DateTime(), nullable=True),
        sa.Column("notes_updated_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["lab_session_id"], ["lab_sessions.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["notes_updated_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exercise_id", "name"),
    )
    op.create_index(
        op.f("ix_exercise_teams_exercise_id"), "exercise_teams", ["exercise_id"], unique=False
    )
    op.create_table(
        "exercise_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("inject_id", sa.String(length=64), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("clock_seconds", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["exercise_teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_exercise_events_team_id"), "exercise_events", ["team_id"], unique=False
    )
    op.create_index(
        "ix_exercise_events_timeline", "exercise_events", ["exercise_id", "at"], unique=False
    )
    op.create_table(
        "exercise_inject_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("inject_id", sa.String(length=64), nullable=False),
        sa.Column("fired_at", sa.DateTime(), nullable=False),
        sa.Column("fired_by_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["fired_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["team_id"], ["exercise_teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "inject_id"),
    )
    op.create_index(
        op.f("ix_exercise_inject_deliveries_exercise_id"),
        "exercise_inject_deliveries",
        ["exercise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_exercise_inject_deliveries_team_id"),
        "exercise_inject_deliveries",
        ["team_id"],
        unique=False,
    )
    op.create_table(
        "exercise_task_completions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["exercise_teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "task_id"),
    )
    op.create_index(
        op.f("ix_exercise_task_completions_team_id"),
        "exercise_task_completions",
        ["team_id"],
        unique=False,
    )
    op.create_table(
        "exercise_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.ForeignKeyConstraint(["exercise_id"], ["exercises.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["exercise_teams.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("exercise_id", "user_id"),
    )
    op.create_index(
        op.f("ix_exercise_team_members_exercise_id"),
        "exercise_team_members",
        ["exercise_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_exercise_team_members_team_id"), "exercise_team_members", ["team_id"], unique=False
    )
    op.create_index(
        op.f("ix_exercise_team_members_user_id"), "exercise_team_members", ["user_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_exercise_team_members_user_id"), table_name="exercise_team_members")
    op.drop_index(op.f("ix_exercise_team_members_team_id"), table_name="exercise_team_members")
    op.drop_index(op.f("ix_exercise_team_members_exercise_id"), table_name="exercise_team_members")
    op.drop_table("exercise_team_members")
    op.drop_index(
        op.f("ix_exercise_task_completions_team_id"), table_name="exercise_task_completions"
    )
    op.drop_table("exercise_task_completions")
    op.drop_index(
        op.f("ix_exercise_inject_deliveries_team_id"), table_name="exercise_inject_deliveries"
    )
    op.drop_index(
        op.f("ix_exercise_inject_deliveries_exercise_id"), table_name="exercise_inject_deliveries"
    )
    op.drop_table("exercise_inject_deliveries")
    op.drop_index("ix_exercise_events_timeline", table_name="exercise_events")
    op.drop_index(op.f("ix_exercise_events_team_id"), table_name="exercise_events")
    op.drop_table("exercise_events")
    op.drop_index(op.f("ix_exercise_teams_exercise_id"), table_name="exercise_teams")
    op.drop_table("exercise_teams")
    op.drop_index(op.f("ix_exercise_cohorts_cohort_id"), table_name="exercise_cohorts")
    op.drop_table("exercise_cohorts")
    op.drop_index(op.f("ix_exercises_status"), table_name="exercises")
    op.drop_index(op.f("ix_exercises_lab_slug"), table_name="exercises")
    op.drop_index(op.f("ix_exercises_created_by_id"), table_name="exercises")
    op.drop_table("exercises")
