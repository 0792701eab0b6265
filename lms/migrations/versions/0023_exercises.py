"""Team exercises (lms.exercises)

Revision ID: 0023_exercises
Revises: 0022_user_locale
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0023_exercises"
down_revision = "0022_user_locale"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
