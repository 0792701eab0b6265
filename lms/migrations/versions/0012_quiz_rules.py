"""(reserved step: fill in what it changes)

Revision ID: 0012_quiz_rules
Revises: 0011_trainee_home
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_quiz_rules'
down_revision = '0011_trainee_home'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
