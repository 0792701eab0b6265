"""(reserved step: fill in what it changes)

Revision ID: 0012_staff_tools
Revises: 0011_trainee_journey
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_staff_tools'
down_revision = '0011_trainee_journey'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
