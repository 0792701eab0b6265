"""Importing courses into the database and querying the catalogue."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import select

from lms.auth.models import utcnow
from lms.catalog import search
from lms.catalog.loader import CourseSource, load_courses
from lms.catalog.models import Course, Module
from lms.content import ContentIssue, lab_library
from lms.content.lab_model import LAB_FILE
from lms.content.lab_parser import load_labs
from lms.extensions import db


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    issues: list[ContentIssue] = field(default_factory=list)


def check_content(courses_dir: str | Path, labs_dir: str | Path | None = None):
    """Validate courses, the labs they name and every team lab (no module names those:
    exercises run them): (valid courses, every issue)."""
    labs_dir = Path(labs_dir or lab_library.labs_dir())
    courses, issues = load_courses(Path(courses_dir), known_labs=lab_library.lab_slugs(labs_dir))
    if labs_dir.is_dir():
        used = _labs_used(courses) | _team_lab_folders(labs_dir)
        specs, lab_issues = load_labs(labs_dir)
        issues.extend(i for i in lab_issues if _lab_of(i, labs_dir) in used)
        issues.extend(_team_labs_named(courses, specs))
    return courses, issues


def _team_labs_named(courses: list[CourseSource], specs: dict) -> list[ContentIssue]:
    """A team lab (``mode: team``) is played by a team in an exercise, never from a module."""
    return [
        team_lab_issue(course.folder / module.filename, module)
        for course in courses
        for module in course.modules
        if module.lab in specs and specs[module.lab].is_team
    ]


def team_lab_issue(path: Path, module) -> ContentIssue:
    """The refusal of a module (at ``path``) whose ``lab:`` names a team lab."""
    return ContentIssue(
        str(path),
        module.lab_line,
        f"lab '{module.lab}' is a team lab (mode: team): team labs run from the "
        "Exercises page, not from a module",
    )


def lab_warnings(courses: list[CourseSource], labs_dir: str | Path | None = None):
    """Warnings (not errors) about the labs these courses use and the team labs, such as
    check tasks that a symbolic link could fool; each a ContentIssue whose message starts
    with "warning:"."""
    labs_dir = Path(labs_dir or lab_library.labs_dir())
    if not labs_dir.is_dir():
        return []
    specs, _issues = load_labs(labs_dir)
    checked = (_labs_used(courses) | _team_lab_folders(labs_dir)) & set(specs)
    return [w for slug in sorted(checked) for w in specs[slug].warnings]


def _team_lab_folders(labs_dir: Path) -> set[str]:
    """Lab folders whose lab.yaml says ``mode: team``, valid or not (a broken one is
    reported even though no module names it)."""
    found = set()
    for slug in lab_library.lab_slugs(labs_dir):
        try:
            data = yaml.safe_load((labs_dir / slug / LAB_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and data.get("mode") == "team":
            found.add(slug)
    return found


def _labs_used(courses: list[CourseSource]) -> set[str]:
    return {m.lab for c in courses for m in c.modules if m.lab}


def _lab_of(issue: ContentIssue, labs_dir: Path) -> str:
    try:
        return Path(issue.path).resolve().relative_to(labs_dir.resolve()).parts[0]
    except ValueError:
        return ""


def sync_courses(courses_dir: str | Path, labs_dir: str | Path | None = None) -> SyncReport:
    """Import valid courses; a course with any issue, in its own files or in a lab it uses,
    is skipped and its last version stays live."""
    labs_dir = Path(labs_dir or lab_library.labs_dir())
    courses, issues = check_content(courses_dir, labs_dir)
    report = SyncReport(issues=issues)
    bad_files = {Path(i.path).resolve() for i in issues}
    broken_labs = {_lab_of(i, labs_dir) for i in issues} - {""}
    for source in courses:
        folder = source.folder.resolve()
        if any(p == folder or folder in p.parents for p in bad_files):
            continue
        if _labs_used([source]) & broken_labs:
            continue
        outcome = _upsert_course(source)
        getattr(report, outcome).append(source.slug)
        db.session.commit()
    return report


def _upsert_course(source: CourseSource) -> str:
    course = db.session.scalar(select(Course).where(Course.slug == source.slug))
    if course and course.content_hash == source.content_hash:
        if not search.is_indexed(course.id):  # imported before the search index existed
            search.index_course(course)
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
    course.quiz_rules = source.quiz_rules.as_dict()
    course.source_dir = str(source.folder.resolve())
    course.synced_at = utcnow()
    db.session.add(course)
    _sync_modules(course, source)
    db.session.flush()  # module ids for the search documents
    search.index_course(course)
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
        module.translations = module_source.translations
        module.quiz = [q.as_dict() for q in module_source.quiz]
        if module.id is None:
            course.modules.append(module)
    for gone in existing.values():
        gone.retired = True
        gone.position = 10_000 + gone.position


def visible_courses(user=None) -> list[Course]:
    """The published courses (every signed-in user sees the whole catalogue)."""
    return list(
        db.session.scalars(select(Course).where(Course.is_published).order_by(Course.title))
    )


def get_course(slug: str) -> Course | None:
    return db.session.scalar(select(Course).where(Course.slug == slug, Course.is_published))


def search_courses(query: str = "", level: str = "", tag: str = "") -> list[search.CourseHit]:
    """The catalogue: published courses of ``level`` tagged ``tag`` (either may be empty),
    and when there is a query, only those it finds, best match first (``search.search``)."""
    if search.query_words(query):
        hits = search.search(query)
    else:
        stmt = select(Course).where(Course.is_published).order_by(Course.title)
        hits = [search.CourseHit(c, 0.0) for c in db.session.scalars(stmt)]
    # tags are a JSON list: filter in Python, portable across databases
    return [
        h
        for h in hits
        if (not level or h.course.level == level) and (not tag or tag in (h.course.tags or []))
    ]


def all_tags() -> list[str]:
    return sorted({t for c in visible_courses() for t in (c.tags or [])})
