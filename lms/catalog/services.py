"""Importing courses into the database and querying the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import or_, select

from lms.auth.models import utcnow
from lms.catalog.loader import CourseSource, load_courses
from lms.catalog.models import Course, Module
from lms.content import ContentIssue
from lms.extensions import db


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    issues: list[ContentIssue] = field(default_factory=list)


def known_lab_slugs(labs_dir: str | Path | None = None) -> set[str]:
    labs_dir = Path(labs_dir or current_app.config["LMS_LABS_DIR"])
    if not labs_dir.is_dir():
        return set()
    return {p.name for p in labs_dir.iterdir() if (p / "lab.yaml").is_file()}


def check_content(courses_dir: str | Path, labs_dir: str | Path | None = None):
    """Validate courses and the labs they name: (valid courses, every issue)."""
    issues: list[ContentIssue] = []
    labs_dir = Path(labs_dir or current_app.config["LMS_LABS_DIR"])
    lab_slugs = known_lab_slugs(labs_dir)
    try:
        from lms.labs.spec import load_labs
    except ImportError:  # the labs domain is optional
        load_labs = None
    courses, course_issues = load_courses(Path(courses_dir), known_labs=lab_slugs)
    issues.extend(course_issues)
    if load_labs and labs_dir.is_dir():
        used = {m.lab for c in courses for m in c.modules if m.lab}
        _specs, lab_issues = load_labs(labs_dir)
        issues.extend(_as_content_issue(i) for i in lab_issues if _lab_of(i, labs_dir) in used)
    return courses, issues


def lab_warnings(courses: list[CourseSource], labs_dir: str | Path | None = None):
    """Warnings (not errors) about the labs these courses use, such as check tasks that
    a symbolic link could fool; each a ContentIssue whose message starts with "warning:"."""
    labs_dir = Path(labs_dir or current_app.config["LMS_LABS_DIR"])
    try:
        from lms.labs.spec import load_labs
    except ImportError:  # the labs domain is optional
        return []
    if not labs_dir.is_dir():
        return []
    used = {m.lab for c in courses for m in c.modules if m.lab}
    specs, _issues = load_labs(labs_dir)
    return [
        _as_content_issue(w) for slug in sorted(used & set(specs)) for w in specs[slug].warnings
    ]


def _lab_of(issue, labs_dir: Path) -> str:
    try:
        return Path(issue.path).resolve().relative_to(labs_dir.resolve()).parts[0]
    except ValueError:
        return ""


def _as_content_issue(issue) -> ContentIssue:
    return ContentIssue(str(issue.path), issue.line, issue.message)


def sync_courses(courses_dir: str | Path, labs_dir: str | Path | None = None) -> SyncReport:
    """Import valid courses; a course with any issue is skipped and its last version stays live."""
    courses, issues = check_content(courses_dir, labs_dir)
    report = SyncReport(issues=issues)
    bad_courses = {Path(i.path).resolve() for i in issues}
    for source in courses:
        if any(
            p == source.folder.resolve() or source.folder.resolve() in p.parents
            for p in bad_courses
        ):
            continue  # a lab this course uses is broken
        outcome = _upsert_course(source)
        getattr(report, outcome).append(source.slug)
        db.session.commit()
    return report


def _upsert_course(source: CourseSource) -> str:
    course = db.session.scalar(select(Course).where(Course.slug == source.slug))
    if course and course.content_hash == source.content_hash:
        return "unchanged"
    outcome = "updated" if course else "created"
    course = course or Course(slug=source.slug)
    for name in (
        "title",
        "summary",
        "level",
        "estimated_hours",
        "tags",
        "authors",
        "requires",
        "content_hash",
    ):
        setattr(course, name, getattr(source, name))
    course.source_dir = str(source.folder.resolve())
    course.synced_at = utcnow()
    db.session.add(course)
    _sync_modules(course, source)
    return outcome


def _sync_modules(course: Course, source: CourseSource) -> None:
    existing = {m.slug: m for m in course.modules}
    for position, module_source in enumerate(source.modules):
        module = existing.pop(module_source.slug, None) or Module(slug=module_source.slug)
        module.position = position
        module.retired = False
        module.title = module_source.title
        module.duration = module_source.duration
        module.objectives = module_source.objectives
        module.lab_slug = module_source.lab
        module.body_html = module_source.body_html
        module.toc_html = module_source.toc_html
        module.quiz = [q.as_dict() for q in module_source.quiz]
        if module.id is None:
            course.modules.append(module)
    for gone in existing.values():
        gone.retired = True
        gone.position = 10_000 + gone.position


def visible_courses(user=None) -> list[Course]:
    """Courses this user can see. Cohort-based visibility is added by lms.centres."""
    return list(
        db.session.scalars(select(Course).where(Course.is_published).order_by(Course.title))
    )


def get_course(slug: str) -> Course | None:
    return db.session.scalar(select(Course).where(Course.slug == slug, Course.is_published))


def search_courses(query: str = "", level: str = "", tag: str = "") -> list[Course]:
    stmt = select(Course).where(Course.is_published)
    if level:
        stmt = stmt.where(Course.level == level)
    if query:
        like = f"%{query.strip()}%"
        stmt = stmt.where(or_(Course.title.ilike(like), Course.summary.ilike(like)))
    courses = db.session.scalars(stmt.order_by(Course.title)).all()
    if tag:  # tags are a JSON list: filter in Python, portable across databases
        courses = [c for c in courses if tag in (c.tags or [])]
    return list(courses)


def all_tags() -> list[str]:
    return sorted({t for c in visible_courses() for t in (c.tags or [])})
