"""LTI 1.3: registered platforms, deployments, contexts tied to cohorts, line items

Revision ID: 0021_lti
Revises: 0020_audit
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_lti'
down_revision = '0020_audit'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
