"""terminal capacity (terminal)

Revision ID: 0005_terminals
Revises: 0004_lab_faults

Fill in upgrade() and downgrade() when this change needs schema changes;
an empty step is harmless.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_terminals'
down_revision = '0004_lab_faults'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
