"""Read-only snapshots of published courses, kept in the process between requests.

Every module page needs its course's tree: the course, its live modules, their stored
HTML and quizzes. That changes only when a sync imports a new version, so it is built
once per version and shared. The version (course id, content hash, sync time) is read
from the database on every request, so a sync made by any process, the CLI's included,
is seen at the next request: the database stays the source of truth, and only derived,
immutable data lives here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select

from lms.catalog.models import Course
from lms.catalog.quiz_rules import QuizRules
from lms.extensions import db

MAX_SNAPSHOTS = 128  # courses; a snapshot is about the size of the course's HTML


@dataclass(frozen=True, eq=False)
class ModuleSnapshot:
    """A live module as the pages need it; attributes as on ``Module``."""

    id: int
    course_id: int
    slug: str
    position: int
    title: str
    duration: int | None
    objectives: tuple[str, ...]
    lab_slug: str | None
    body_html: str
    toc_html: str
    quiz: tuple[dict, ...]  # shared between requests: read, never change
    retired: bool = False
    translations: dict = field(default_factory=dict)  # as on Module; read, never change
    course: CourseSnapshot = field(init=False, repr=False)
    # Parts of the page that are the same for every reader of this version, rendered once
    # (lms.progress.pages): name -> Markup.
    fragments: dict = field(init=False, repr=False, default_factory=dict)


@dataclass(frozen=True, eq=False)
class CourseSnapshot:
    """A published course and its live modules; attributes as on ``Course``."""

    id: int
    slug: str
    title: str
    summary: str
    level: str
    content_hash: str
    synced_at: datetime
    requires: tuple[str, ...]
    live_modules: tuple[ModuleSnapshot, ...]
    quiz_rules: QuizRules = QuizRules()
    # Derived data the same for every reader of this version (lms.progress.pages).
    fragments: dict = field(init=False, repr=False, default_factory=dict)

    @property
    def objectives(self) -> list[str]:
        return [o for m in self.live_modules for o in m.objectives]

    def module(self, slug: str) -> ModuleSnapshot | None:
        return next((m for m in self.live_modules if m.slug == slug), None)


# Built once: constructing a statement costs more than running it. Core, not the ORM:
# three values need no identity map.
_VERSION = select(Course.id, Course.content_hash, Course.synced_at).where(
    Course.slug == bindparam("slug"), Course.is_published
)
_snapshots: OrderedDict[tuple, CourseSnapshot] = OrderedDict()
_lock = threading.Lock()


def published_course(slug: str) -> CourseSnapshot | None:
    """The published course ``slug`` as of its current version (one small query when the
    snapshot is already built), or None."""
    version = db.session.connection().execute(_VERSION, {"slug": slug}).first()
    if version is None:
        return None
    key = (db.engine.url, *version)
    with _lock:
        snapshot = _snapshots.get(key)
        if snapshot is not None:
            _snapshots.move_to_end(key)
            return snapshot
    snapshot = _snapshot_of(db.session.get(Course, version.id))
    with _lock:
        _snapshots[key] = snapshot
        while len(_snapshots) > MAX_SNAPSHOTS:
            _snapshots.popitem(last=False)
    return snapshot


def _snapshot_of(course: Course) -> CourseSnapshot:
    modules = tuple(
        ModuleSnapshot(
            id=m.id,
            course_id=course.id,
            slug=m.slug,
            position=m.position,
            title=m.title,
            duration=m.duration,
            objectives=tuple(m.objectives or ()),
            lab_slug=m.lab_slug,
            body_html=m.body_html,
            toc_html=m.toc_html,
            quiz=tuple(m.quiz or ()),
            translations=dict(m.translations or {}),
        )
        for m in course.live_modules
    )
    snapshot = CourseSnapshot(
        id=course.id,
        slug=course.slug,
        title=course.title,
        summary=course.summary,
        level=course.level,
        content_hash=course.content_hash,
        synced_at=course.synced_at,
        requires=tuple(course.requires or ()),
        live_modules=modules,
        quiz_rules=QuizRules.from_dict(course.quiz_rules),
    )
    for module in modules:
        object.__setattr__(module, "course", snapshot)  # frozen: set once, here
    return snapshot
