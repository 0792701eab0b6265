"""xAPI statements queued for the learning record store

Revision ID: 0018_xapi
Revises: 0017_sso
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_xapi'
down_revision = '0017_sso'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
