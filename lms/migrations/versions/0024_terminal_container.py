"""A terminal's container (team members' workstations)

Revision ID: 0024_terminal_container
Revises: 0023_exercises
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024_terminal_container"
down_revision = "0023_exercises"
branch_labels = None
depends_on = None


def upgrade():
    # the lab container a terminal's shell runs in; NULL (older rows): the lab's workstation
    with op.batch_alter_table("terminal_recordings") as batch:
        batch.add_column(sa.Column("container", sa.String(length=30), nullable=True))


def downgrade():
    with op.batch_alter_table("terminal_recordings") as batch:
        batch.drop_column("container")
