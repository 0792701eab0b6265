"""A terminal's container (team members' workstations)

Revision ID: 0024_terminal_container
Revises: 0023_exercises
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0024_terminal_container"
down_revision = "0023_exercises"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
