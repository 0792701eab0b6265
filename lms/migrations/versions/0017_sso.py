"""Single sign-on: OpenID Connect issuers per centre

Revision ID: 0017_sso
Revises: 0016_lab_nodes
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_sso'
down_revision = '0016_lab_nodes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "sso_issuers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("centre_id", sa.Integer(), nullable=False),
        sa.Column("discovery_url", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret_encrypted", sa.Text(), nullable=False),
        sa.Column("role_claim", sa.String(length=100), server_default="", nullable=False),
        sa.Column("role_mapping", sa.Text(), server_default="", nullable=False),
        sa.Column("default_role", sa.String(length=20), server_default="trainee", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["centre_id"], ["centres.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_sso_issuers_centre_id"), "sso_issuers", ["centre_id"], unique=True)


def downgrade():
    op.drop_index(op.f("ix_sso_issuers_centre_id"), table_name="sso_issuers")
    op.drop_table("sso_issuers")
