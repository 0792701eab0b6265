"""Staff tools: the name an invitation was made with, and the lab web proxy's requests

``invitations.name`` is the name the inviter typed (the invitee's form starts with it);
``lab_web_requests`` lists what a trainee's browser asked of the lab's web services
through the platform, for the session replay's timeline.

Revision ID: 0013_staff_tools
Revises: 0012_quiz_rules
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_staff_tools'
down_revision = '0012_quiz_rules'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("name", sa.String(length=120), nullable=False, server_default=""))
    op.create_table(
        "lab_web_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["session_id"], ["lab_sessions.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_lab_web_requests_session_id", "lab_web_requests", ["session_id"])


def downgrade():
    op.drop_index("ix_lab_web_requests_session_id", table_name="lab_web_requests")
    op.drop_table("lab_web_requests")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("name")
