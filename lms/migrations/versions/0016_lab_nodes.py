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
    # The node(s) a session's (or a pooled session's) containers run on, set when its
    # start or claim completes; and each node's labs and maximum, as the last sweep found.
    with op.batch_alter_table("lab_sessions") as table:
        table.add_column(sa.Column("node", sa.String(length=200), nullable=True))
    with op.batch_alter_table("lab_pool_sessions") as table:
        table.add_column(sa.Column("node", sa.String(length=200), nullable=True))
    with op.batch_alter_table("lab_engine_listings") as table:
        table.add_column(sa.Column("nodes", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("lab_engine_listings") as table:
        table.drop_column("nodes")
    with op.batch_alter_table("lab_pool_sessions") as table:
        table.drop_column("node")
    with op.batch_alter_table("lab_sessions") as table:
        table.drop_column("node")
