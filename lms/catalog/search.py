"""Catalogue search: words anywhere in a course (title, tags, summary, module titles and
text), ranked, with the modules that match.

The text lives in ``search_documents`` (one row per course, one per live module), written
when a course is imported. The database in use does the searching: SQLite through an FTS5
table kept in step with it by triggers (bm25 ranking), PostgreSQL through a GIN index over
a weighted tsvector (ts_rank). A course matches when every word of the query is somewhere
in it; words match as prefixes ("inject" finds "injection") after stemming.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markupsafe import Markup
from sqlalchemy import DDL, delete, event, exists, select, text

from lms.catalog.models import Course, Module, SearchDocument
from lms.extensions import db

MAX_WORDS = 8
MODULES_PER_COURSE = 3
_WORD = re.compile(r"[^\W_]+")  # letters and digits: nothing a query syntax reads

# -- the index, per database ----------------------------------------------------------------

FTS_TABLE = "search_documents_fts"
_COLUMNS = "title, tags, summary, body"
SQLITE_DDL = [
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5({_COLUMNS}, "
    "content='search_documents', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    # External-content FTS5: the triggers keep the index in step with the table.
    f"CREATE TRIGGER IF NOT EXISTS search_documents_ai AFTER INSERT ON search_documents BEGIN INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, new.title, new.tags, new.summary, new.body); END",  # noqa: S608 - constants
    f"CREATE TRIGGER IF NOT EXISTS search_documents_ad AFTER DELETE ON search_documents BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', old.id, old.title, old.tags, old.summary, old.body); END",  # noqa: S608 - constants
    f"CREATE TRIGGER IF NOT EXISTS search_documents_au AFTER UPDATE ON search_documents BEGIN INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, {_COLUMNS}) VALUES ('delete', old.id, old.title, old.tags, old.summary, old.body); INSERT INTO {FTS_TABLE}(rowid, {_COLUMNS}) VALUES (new.id, new.title, new.tags, new.summary, new.body); END",  # noqa: S608 - constants
]
# Title and tags weigh most, then the summary (and a module's objectives), then the text.
# The GIN index is over this very expression, so the planner uses it.
PG_VECTOR = (
    "(setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(tags, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(summary, '')), 'B') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'D'))"
)
PG_INDEX = "ix_search_documents_vector"
PG_DDL = [f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON search_documents USING gin ({PG_VECTOR})"]


def include_in_migrations(name: str | None, type_: str, _parent_names) -> bool:
    """Alembic's ``include_name``: the FTS5 table and its shadow tables, and PostgreSQL's
    expression index, are made by the DDL above, not by the models; autogenerate must not
    drop them."""
    if type_ == "table" and name and name.startswith(FTS_TABLE):
        return False
    return not (type_ == "index" and name == PG_INDEX)


_table = SearchDocument.__table__
for _statement in SQLITE_DDL:
    event.listen(_table, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in PG_DDL:
    event.listen(_table, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
event.listen(
    _table, "before_drop", DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite")
)


# -- writing ----------------------------------------------------------------------------------


def plain_text(html: str) -> str:
    """The words of rendered HTML (code blocks included: commands are what people search)."""
    return Markup(html or "").striptags()  # noqa: S704 - read, never rendered


def index_course(course: Course) -> None:
    """Replace the course's documents by its current text (in the caller's transaction;
    the course's modules must have ids, i.e. be flushed)."""
    db.session.execute(delete(SearchDocument).where(SearchDocument.course_id == course.id))
    modules = course.live_modules
    module_texts = {m.id: plain_text(m.body_html) for m in modules}
    db.session.add(
        SearchDocument(
            course_id=course.id,
            module_id=None,
            title=course.title,
            tags=" ".join(course.tags or []),
            summary=course.summary or "",
            body="\n".join(f"{m.title}\n{module_texts[m.id]}" for m in modules),
        )
    )
    for module in modules:
        db.session.add(
            SearchDocument(
                course_id=course.id,
                module_id=module.id,
                title=module.title,
                summary=" ".join(module.objectives or []),
                body=module_texts[module.id],
            )
        )


def is_indexed(course_id: int) -> bool:
    return bool(db.session.scalar(select(exists().where(SearchDocument.course_id == course_id))))


# -- reading ----------------------------------------------------------------------------------


@dataclass
class ModuleHit:
    id: int
    slug: str
    title: str


@dataclass
class CourseHit:
    course: Course
    rank: float  # smaller is better
    modules: list[ModuleHit] = field(default_factory=list)


def query_words(query: str) -> list[str]:
    return _WORD.findall(query.lower())[:MAX_WORDS]


def search(query: str) -> list[CourseHit]:
    """Published courses with every word of ``query`` somewhere in them, best first, each
    with up to MODULES_PER_COURSE matching modules."""
    words = query_words(query)
    if not words:
        return []
    dialect = db.engine.dialect.name
    searcher = _search_postgresql if dialect == "postgresql" else _search_sqlite
    course_ranks, module_rows = searcher(words)
    if not course_ranks:
        return []
    courses = {
        c.id: c
        for c in db.session.scalars(
            select(Course).where(Course.id.in_(course_ranks), Course.is_published)
        )
    }
    hits = {
        cid: CourseHit(courses[cid], rank) for cid, rank in course_ranks.items() if cid in courses
    }
    wanted = {module_id for _course_id, module_id in module_rows}
    live = {
        m.id: m
        for m in db.session.execute(
            select(Module.id, Module.slug, Module.title).where(
                Module.id.in_(wanted), Module.retired.is_(False)
            )
        )
    }
    for course_id, module_id in module_rows:
        hit = hits.get(course_id)
        module = live.get(module_id)
        if hit and module and len(hit.modules) < MODULES_PER_COURSE:
            hit.modules.append(ModuleHit(module.id, module.slug, module.title))
    return sorted(hits.values(), key=lambda h: (h.rank, h.course.title))


def _fts5_query(words: list[str], joiner: str) -> str:
    # Each word quoted (no FTS5 syntax gets through), as a prefix once it has 3 letters.
    return joiner.join(f'"{w}"*' if len(w) >= 3 else f'"{w}"' for w in words)


def _search_sqlite(words: list[str]):
    bm25 = f"bm25({FTS_TABLE}, 10.0, 8.0, 4.0, 1.0)"
    base = f"SELECT d.course_id, d.module_id, {bm25} AS rank FROM {FTS_TABLE} JOIN search_documents d ON d.id = {FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH :q "  # noqa: S608 - constants; the query is a parameter
    connection = db.session.connection()
    courses = connection.execute(
        text(base + "AND d.module_id IS NULL ORDER BY rank"), {"q": _fts5_query(words, " ")}
    )
    ranks = {row.course_id: row.rank for row in courses}
    modules = connection.execute(
        text(base + "AND d.module_id IS NOT NULL ORDER BY rank"),
        {"q": _fts5_query(words, " OR ")},
    )
    return ranks, [(row.course_id, row.module_id) for row in modules]


def _tsquery(words: list[str], joiner: str) -> str:
    return joiner.join(f"{w}:*" for w in words)


def _search_postgresql(words: list[str]):
    base = f"SELECT course_id, module_id, ts_rank({PG_VECTOR}, to_tsquery('english', :q)) AS rank FROM search_documents WHERE {PG_VECTOR} @@ to_tsquery('english', :q) "  # noqa: S608 - constants; the query is a parameter
    connection = db.session.connection()
    courses = connection.execute(
        text(base + "AND module_id IS NULL ORDER BY rank DESC"), {"q": _tsquery(words, " & ")}
    )
    ranks = {row.course_id: -row.rank for row in courses}  # smaller is better, as bm25
    modules = connection.execute(
        text(base + "AND module_id IS NOT NULL ORDER BY rank DESC"),
        {"q": _tsquery(words, " | ")},
    )
    return ranks, [(row.course_id, row.module_id) for row in modules]
