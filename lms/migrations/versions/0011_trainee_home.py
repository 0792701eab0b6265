"""trainee home: catalogue search index, calendar feed secrets

Revision ID: 0011_trainee_home
Revises: 0010_shared_limits

- search_documents: the text of each course and of each of its modules
  (lms.catalog.search); SQLite indexes it in the FTS5 table search_documents_fts,
  kept in step by triggers, PostgreSQL with a GIN index over a weighted tsvector.
  Filled here from the courses already imported (a sync refills it anyway).
- calendar_feeds: the per-user secret behind the address of a trainee's calendar
  feed of due dates (lms.centres.calendar_feed); resetting it changes the address.
"""
import json
import re
from html import unescape

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_trainee_home'
down_revision = '0010_shared_limits'
branch_labels = None
depends_on = None

COLUMNS = "title, tags, summary, body"
SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_documents_fts USING fts5(title, tags, summary, body, "
    "content='search_documents', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN "
    f"INSERT INTO search_documents_fts(rowid, {COLUMNS}) "
    "VALUES (new.id, new.title, new.tags, new.summary, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN "
    f"INSERT INTO search_documents_fts(search_documents_fts, rowid, {COLUMNS}) "
    "VALUES ('delete', old.id, old.title, old.tags, old.summary, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS search_documents_au AFTER UPDATE ON search_documents BEGIN "
    f"INSERT INTO search_documents_fts(search_documents_fts, rowid, {COLUMNS}) "
    "VALUES ('delete', old.id, old.title, old.tags, old.summary, old.body); "
    f"INSERT INTO search_documents_fts(rowid, {COLUMNS}) "
    "VALUES (new.id, new.title, new.tags, new.summary, new.body); END",
]
PG_VECTOR = (
    "(setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(tags, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'D'))"
)
TAG = re.compile(r"<[^>]*>")


def upgrade():
    op.create_table(
        'search_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('module_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('tags', sa.Text(), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['module_id'], ['modules.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_search_documents_course_id', 'search_documents', ['course_id'])
    op.create_index('ix_search_documents_module_id', 'search_documents', ['module_id'])
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        for statement in SQLITE_DDL:
            op.execute(statement)
    elif bind.dialect.name == 'postgresql':
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_search_documents_vector ON search_documents "
            f"USING gin ({PG_VECTOR})"
        )
    _index_existing_courses(bind)

    op.create_table(
        'calendar_feeds',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret', sa.String(length=64), nullable=False),
        sa.Column('reset_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )


def _index_existing_courses(bind):
    """The documents lms.catalog.search.index_course writes, for the courses already in."""
    courses = bind.execute(sa.text("SELECT id, title, tags, summary FROM courses")).all()
    documents = sa.table(
        'search_documents',
        *(sa.column(n) for n in ('course_id', 'module_id', 'title', 'tags', 'summary', 'body')),
    )
    for course in courses:
        modules = bind.execute(
            sa.text(
                "SELECT id, title, objectives, body_html FROM modules "
                "WHERE course_id = :c AND NOT retired ORDER BY position"
            ),
            {"c": course.id},
        ).all()
        texts = {m.id: " ".join(unescape(TAG.sub(" ", m.body_html or "")).split()) for m in modules}
        tags = _json_list(course.tags)
        rows = [{
            'course_id': course.id, 'module_id': None, 'title': course.title,
            'tags': " ".join(tags or []), 'summary': course.summary or "",
            'body': "\n".join(f"{m.title}\n{texts[m.id]}" for m in modules),
        }]
        for m in modules:
            objectives = _json_list(m.objectives)
            rows.append({
                'course_id': course.id, 'module_id': m.id, 'title': m.title, 'tags': "",
                'summary': " ".join(objectives or []), 'body': texts[m.id],
            })
        op.bulk_insert(documents, rows)


def _json_list(value) -> list:
    """A JSON column read with plain SQL: text on SQLite, already a list on PostgreSQL."""
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return value or []


def downgrade():
    op.drop_table('calendar_feeds')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS search_documents_fts")
    op.drop_index('ix_search_documents_module_id', table_name='search_documents')
    op.drop_index('ix_search_documents_course_id', table_name='search_documents')
    op.drop_table('search_documents')
