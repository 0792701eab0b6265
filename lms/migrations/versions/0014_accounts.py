"""(reserved step: fill in what it changes)

Revision ID: 0014_accounts
Revises: 0013_staff_tools
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_accounts'
down_revision = '0013_staff_tools'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
