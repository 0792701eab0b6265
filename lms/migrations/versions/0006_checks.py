"""check tasks and content (labs)

Revision ID: 0006_checks
Revises: 0005_terminals

Fill in upgrade() and downgrade() when this change needs schema changes;
an empty step is harmless.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_checks'
down_revision = '0005_terminals'
branch_labels = None
depends_on = None


def upgrade():
    # course.yaml `requires:`: the slugs of the courses to take first
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("requires", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("requires")
