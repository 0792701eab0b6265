"""(reserved step: fill in what it changes)

Revision ID: 0011_trainee_home
Revises: 0010_shared_limits
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_trainee_home'
down_revision = '0010_shared_limits'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
