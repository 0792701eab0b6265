"""Lab jobs, named leases and lab workers: engine work queued in the database and claimed
by lab workers (lms.labs.jobs, lms.labs.workers); the reaper's lease (lms.labs.leases);
each worker's heartbeat and what it found of the engine (lms.labs.health).

Revision ID: 0008_lab_jobs
Revises: 0007_terminal_shells
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_lab_jobs'
down_revision = '0007_terminal_shells'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'lab_jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=True),
        sa.Column('payload_json', sa.Text(), nullable=False),
        sa.Column('result_json', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('run_after', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('max_attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_by', sa.String(length=200), nullable=True),
        sa.Column('lease_until', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['session_id'], ['lab_sessions.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_lab_jobs_claim', 'lab_jobs', ['status', 'run_after', 'id'])
    op.create_index('ix_lab_jobs_session_id', 'lab_jobs', ['session_id'])
    op.create_table(
        'lab_leases',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('holder', sa.String(length=200), nullable=True),
        sa.Column('until', sa.DateTime(), nullable=True),
        sa.Column('taken_at', sa.DateTime(), nullable=True),
        sa.Column('taken_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    op.create_table(
        'lab_workers',
        sa.Column('identity', sa.String(length=200), nullable=False),
        sa.Column('mode', sa.String(length=16), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('seen_at', sa.DateTime(), nullable=False),
        sa.Column('engine_up', sa.Boolean(), nullable=True),
        sa.Column('engine_not_answering', sa.Boolean(), nullable=False),
        sa.Column('engine_checked_at', sa.DateTime(), nullable=True),
        sa.Column('engine_error', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('identity'),
    )
    op.create_index('ix_lab_workers_seen_at', 'lab_workers', ['seen_at'])


def downgrade():
    op.drop_index('ix_lab_workers_seen_at', table_name='lab_workers')
    op.drop_table('lab_workers')
    op.drop_table('lab_leases')
    op.drop_index('ix_lab_jobs_session_id', table_name='lab_jobs')
    op.drop_index('ix_lab_jobs_claim', table_name='lab_jobs')
    op.drop_table('lab_jobs')
