"""(reserved step: fill in what it changes)

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
    pass


def downgrade():
    pass
