"""(reserved step: fill in what it changes)

Revision ID: 0008_lab_jobs
Revises: 0007_terminal_shells
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_lab_jobs'
down_revision = '0007_terminal_shells'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
