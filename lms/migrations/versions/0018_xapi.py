"""xAPI statements queued for the learning record store

Revision ID: 0018_xapi
Revises: 0017_sso
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_xapi'
down_revision = '0017_sso'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "xapi_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statement_id", sa.String(length=36), nullable=False),
        sa.Column("statement_json", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("statement_id"),
    )
    op.create_index(
        "ix_xapi_statements_due",
        "xapi_statements",
        ["status", "next_attempt_at", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_xapi_statements_due", table_name="xapi_statements")
    op.drop_table("xapi_statements")
