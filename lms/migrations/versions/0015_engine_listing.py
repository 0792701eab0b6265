"""What the engine held at the last sweep (lab_engine_listings), for the admin page

Revision ID: 0015_engine_listing
Revises: 0014_accounts
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_engine_listing'
down_revision = '0014_accounts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lab_engine_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(), nullable=False),
        sa.Column("labs", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade():
    op.drop_table("lab_engine_listings")
