"""Certificates and their signed Open Badges credentials

Revision ID: 0019_certificates
Revises: 0018_xapi
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_certificates'
down_revision = '0018_xapi'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
