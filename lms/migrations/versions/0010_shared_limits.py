"""(reserved step: fill in what it changes)

Revision ID: 0010_shared_limits
Revises: 0009_lab_pools
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_shared_limits'
down_revision = '0009_lab_pools'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
