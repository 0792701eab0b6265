"""(reserved step: fill in what it changes)

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
    pass


def downgrade():
    pass
