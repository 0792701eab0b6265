"""Courses and modules as imported by `lms courses sync` (HTML rendered once, stored)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import utcnow
from lms.extensions import db


class Course(db.Model):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    level: Mapped[str] = mapped_column(String(20), default="beginner")
    estimated_hours: Mapped[float | None]
    tags: Mapped[list] = mapped_column(JSON, default=list)
    authors: Mapped[list] = mapped_column(JSON, default=list)
    # slugs of the courses to take first (course.yaml `requires:`)
    requires: Mapped[list | None] = mapped_column(JSON, default=list)
    # how its quizzes are taken (course.yaml `quiz:`, lms.catalog.quiz_rules); None: defaults
    quiz_rules: Mapped[dict | None] = mapped_column(JSON, default=dict)
    source_dir: Mapped[str] = mapped_column(String(500), default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    is_published: Mapped[bool] = mapped_column(default=True)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)

    modules: Mapped[list[Module]] = relationship(
        back_populates="course", order_by="Module.position", cascade="all, delete-orphan"
    )

    @property
    def live_modules(self) -> list[Module]:
        return [m for m in self.modules if not m.retired]

    @property
    def required_courses(self) -> list[Course]:
        """The published courses this one requires, in the order course.yaml names them."""
        if not self.requires:
            return []
        found = {
            c.slug: c
            for c in db.session.scalars(
                select(Course).where(Course.slug.in_(self.requires), Course.is_published)
            )
        }
        return [found[slug] for slug in self.requires if slug in found]

    @property
    def objectives(self) -> list[str]:
        return [o for m in self.live_modules for o in m.objectives]


class Module(db.Model):
    __tablename__ = "modules"
    __table_args__ = (UniqueConstraint("course_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(default=0)
    title: Mapped[str] = mapped_column(String(200))
    duration: Mapped[int | None]
    objectives: Mapped[list] = mapped_column(JSON, default=list)
    lab_slug: Mapped[str | None] = mapped_column(String(64))
    body_html: Mapped[str] = mapped_column(Text, default="")
    toc_html: Mapped[str] = mapped_column(Text, default="")
    quiz: Mapped[list] = mapped_column(JSON, default=list)
    # Its translated files (01-the-shell.zh.md): locale -> title, body_html, toc_html.
    translations: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # A module removed from the course keeps its row so trainees' records stay intact.
    retired: Mapped[bool] = mapped_column(default=False)

    course: Mapped[Course] = relationship(back_populates="modules")


class SearchDocument(db.Model):
    """The text of a course (module_id None: title, tags, summary and every module) or of
    one of its modules, as the catalogue search reads it (lms.catalog.search). Rewritten
    when a course is imported. SQLite indexes it in an FTS5 table kept by triggers,
    PostgreSQL with a GIN index over its weighted tsvector (both made in search.py)."""

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
