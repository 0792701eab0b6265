"""Where each lab runs (a swarm's node) and per-node capacity

Revision ID: 0016_lab_nodes
Revises: 0015_engine_listing
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_lab_nodes'
down_revision = '0015_engine_listing'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
