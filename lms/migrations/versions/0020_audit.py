"""The platform-wide audit log

Revision ID: 0020_audit
Revises: 0019_certificates
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020_audit'
down_revision = '0019_certificates'
branch_labels = None
depends_on = None


def upgrade():
    # The terminal's audit trail (watching, replaying) becomes the platform-wide log:
    # same table and rows, with who by e-mail, what by name and the centre it is about.
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_email', sa.String(length=254), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('target', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('centre_id', sa.Integer(), nullable=True))
        batch_op.alter_column('action', existing_type=sa.String(length=40), type_=sa.String(length=80))
        batch_op.alter_column('detail', existing_type=sa.String(length=255), type_=sa.Text())
        batch_op.create_foreign_key(
            'fk_audit_events_centre_id', 'centres', ['centre_id'], ['id'], ondelete='SET NULL'
        )
        batch_op.create_index(batch_op.f('ix_audit_events_centre_id'), ['centre_id'], unique=False)
    op.execute(
        "UPDATE audit_events SET actor_email = COALESCE("
        "(SELECT email FROM users WHERE users.id = audit_events.actor_id), '')"
    )
    op.execute(
        "UPDATE audit_events SET centre_id = "
        "(SELECT centre_id FROM users WHERE users.id = audit_events.subject_user_id)"
    )
    op.execute(
        "UPDATE audit_events SET target = 'lab session ' || CAST(session_id AS VARCHAR(20)) "
        "WHERE session_id IS NOT NULL"
    )


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_centre_id'))
        batch_op.drop_constraint('fk_audit_events_centre_id', type_='foreignkey')
        batch_op.alter_column('detail', existing_type=sa.Text(), type_=sa.String(length=255))
        batch_op.alter_column('action', existing_type=sa.String(length=80), type_=sa.String(length=40))
        batch_op.drop_column('centre_id')
        batch_op.drop_column('target')
        batch_op.drop_column('actor_email')
