"""The platform-wide audit log

Revision ID: 0020_audit
Revises: 0019_certificates
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_audit'
down_revision = '0019_certificates'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
