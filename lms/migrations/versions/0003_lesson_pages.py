"""lesson page visits and caching (progress, catalog)

Revision ID: 0003_lesson_pages
Revises: 0002_auth_hardening

Fill in upgrade() and downgrade() when this change needs schema changes;
an empty step is harmless.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_lesson_pages'
down_revision = '0002_auth_hardening'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
