"""sign-in throttling, session versions, API token use (auth)

Revision ID: 0002_auth_hardening
Revises: 5d7a2813448a

Fill in upgrade() and downgrade() when this change needs schema changes;
an empty step is harmless.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_auth_hardening'
down_revision = '5d7a2813448a'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
