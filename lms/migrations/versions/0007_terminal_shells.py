"""Terminal shells that outlive their web process: what any process needs to re-attach

A terminal's recording row names its held shell (``shell_name``, ``shell_pid``),
the attachment that owns it now (``attach_token``), and when its process last
vouched for it (``heartbeat_at``) and saw a keystroke (``last_input_at``).

Revision ID: 0007_terminal_shells
Revises: 0006_checks
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_terminal_shells'
down_revision = '0006_checks'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("terminal_recordings") as batch:
        batch.add_column(sa.Column("shell_name", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("shell_pid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("attach_token", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("last_input_at", sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("terminal_recordings") as batch:
        for column in ("last_input_at", "heartbeat_at", "attach_token", "shell_pid", "shell_name"):
            batch.drop_column(column)
