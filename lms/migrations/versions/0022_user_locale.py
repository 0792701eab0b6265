"""Each person's chosen interface language (users.locale); translated modules

Revision ID: 0022_user_locale
Revises: 0021_lti
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0022_user_locale"
down_revision = "0021_lti"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("locale", sa.String(length=16), nullable=True))
    # translated module files (01-the-shell.zh.md): locale -> title, body_html, toc_html
    with op.batch_alter_table("modules") as batch:
        batch.add_column(sa.Column("translations", sa.JSON(), nullable=False, server_default="{}"))


def downgrade():
    with op.batch_alter_table("modules") as batch:
        batch.drop_column("translations")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("locale")
