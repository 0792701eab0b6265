"""sign-in throttling, session versions, API token use (auth)

Revision ID: 0002_auth_hardening
Revises: 5d7a2813448a

- login_failures: failed sign-ins per account and per client address (lms.auth.throttle)
- users.session_version: in every session and remember-me cookie; bumped to sign out
  everywhere (password change, sign-out)
- users.email_skeleton: what the address looks like (lms.auth.lookalike), filled in here
  for existing accounts
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_auth_hardening'
down_revision = '5d7a2813448a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'login_failures',
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=320), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(), nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'key'),
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_last_at'), ['last_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_version', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(sa.Column('email_skeleton', sa.String(length=400), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_email_skeleton'), ['email_skeleton'], unique=False)

    from lms.auth.lookalike import skeleton

    users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String),
                     sa.column('email_skeleton', sa.String))
    conn = op.get_bind()
    for user_id, email in conn.execute(sa.select(users.c.id, users.c.email)).all():
        conn.execute(users.update().where(users.c.id == user_id)
                     .values(email_skeleton=skeleton(email)))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email_skeleton'))
        batch_op.drop_column('email_skeleton')
        batch_op.drop_column('session_version')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_last_at'))
    op.drop_table('login_failures')
