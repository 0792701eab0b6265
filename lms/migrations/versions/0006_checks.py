"""Courses may require other courses (courses.requires)

Revision ID: 0006_checks
Revises: 0004_lab_faults
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_checks'
down_revision = '0004_lab_faults'
branch_labels = None
depends_on = None


def upgrade():
    # course.yaml `requires:`: the slugs of the courses to take first
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("requires", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("requires")
