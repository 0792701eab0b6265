"""lab engine faults and flag ownership (labs)

Revision ID: 0004_lab_faults
Revises: 0002_auth_hardening

Adds lab_sessions.lease_until: starts cut off by a dead process are resolved.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0004_lab_faults"
down_revision = "0002_auth_hardening"
branch_labels = None
depends_on = None


def upgrade():
    # The lease a live process holds on a start it works on (lms.labs.reaper).
    with op.batch_alter_table("lab_sessions") as batch_op:
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("lab_sessions") as batch_op:
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("lease_until")
