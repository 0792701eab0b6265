"""lab engine faults and flag ownership (labs)

Revision ID: 0004_lab_faults
Revises: 0003_lesson_pages

Fill in upgrade() and downgrade() when this change needs schema changes;
an empty step is harmless.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_lab_faults'
down_revision = '0003_lesson_pages'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
