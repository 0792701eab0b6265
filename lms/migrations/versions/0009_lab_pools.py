"""(reserved step: fill in what it changes)

Revision ID: 0009_lab_pools
Revises: 0008_lab_jobs
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_lab_pools'
down_revision = '0008_lab_jobs'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
