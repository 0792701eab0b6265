"""Single sign-on: OpenID Connect issuers per centre

Revision ID: 0017_sso
Revises: 0016_lab_nodes
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_sso'
down_revision = '0016_lab_nodes'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
