"""quiz rules, hint penalties, cohort leaderboards

Revision ID: 0012_quiz_rules
Revises: 0011_trainee_home

- courses.quiz_rules: how a course's quizzes are taken (course.yaml `quiz:`); NULL
  means the defaults of self-study (a sync fills it).
- quiz_papers: the questions drawn (and the order of their choices) for a trainee's
  coming attempt at a quiz, kept until it is graded (lms.progress.quizzes).
- lab_task_attempts.penalty: what a revealed hint cost (lab.yaml `penalty:`).
- cohorts.leaderboard: the cohort's trainees see a leaderboard (off by default).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_quiz_rules'
down_revision = '0011_trainee_home'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("courses") as batch_op:
        batch_op.add_column(sa.Column("quiz_rules", sa.JSON(), nullable=True))
    op.create_table(
        "quiz_papers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module_id", sa.Integer(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["module_id"], ["modules.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "module_id"),
    )
    op.create_index("ix_quiz_papers_user_id", "quiz_papers", ["user_id"])
    op.create_index("ix_quiz_papers_module_id", "quiz_papers", ["module_id"])
    with op.batch_alter_table("lab_task_attempts") as batch_op:
        batch_op.add_column(
            sa.Column("penalty", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("cohorts") as batch_op:
        batch_op.add_column(
            sa.Column("leaderboard", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade():
    with op.batch_alter_table("cohorts") as batch_op:
        batch_op.drop_column("leaderboard")
    with op.batch_alter_table("lab_task_attempts") as batch_op:
        batch_op.drop_column("penalty")
    op.drop_index("ix_quiz_papers_module_id", table_name="quiz_papers")
    op.drop_index("ix_quiz_papers_user_id", table_name="quiz_papers")
    op.drop_table("quiz_papers")
    with op.batch_alter_table("courses") as batch_op:
        batch_op.drop_column("quiz_rules")
