"""Editing course files on disk safely.

A save is validated against a copy of the whole course first: a change that
breaks the course is refused with the problems listed, and the file on disk
stays as it was. Publishing is `lms courses sync` for one course.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml
from flask import current_app
from sqlalchemy import select

from lms.audit.services import record
from lms.auth.models import User
from lms.authoring.models import CourseChange
from lms.catalog.loader import (
    COURSE_SLUG,
    MODULE_FILE,
    QUIZ_FENCE,
    asset_url,
    content_hash,
    load_course,
)
from lms.catalog.models import Course
from lms.catalog.rendering import render_markdown
from lms.catalog.services import SyncReport, sync_courses, team_lab_issue
from lms.content import ContentError, ContentIssue, lab_library
from lms.extensions import db

MAX_FILE_BYTES = 512 * 1024


class AuthoringError(ValueError):
    """A request the author can fix: unknown course, bad file name, file too large."""


@dataclass
class CourseFolder:
    slug: str
    path: Path
    files: list[str]


def courses_dir() -> Path:
    return Path(current_app.config["LMS_COURSES_DIR"])


def course_folders(slugs: set[str] | None = None) -> list[CourseFolder]:
    """The course folders on disk; only those named in ``slugs`` unless it is None."""
    root = courses_dir()
    if not root.is_dir():
        return []
    return [
        course_folder(p.name)
        for p in sorted(root.iterdir())
        if p.is_dir()
        and (p / "course.yaml").is_file()
        and COURSE_SLUG.match(p.name)
        and (slugs is None or p.name in slugs)
    ]


PUBLISHED, DRAFT, NEVER_PUBLISHED = "published", "draft", "not published"


@dataclass
class CourseListing:
    """A course folder as the Authoring page lists it."""

    folder: CourseFolder
    title: str
    state: str  # PUBLISHED: the live version is the folder; DRAFT: changed since
    last_change: CourseChange | None

    @property
    def modules(self) -> int:
        return len(self.folder.files) - 1


def folder_title(folder: CourseFolder) -> str:
    try:
        meta = yaml.safe_load((folder.path / "course.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return folder.slug
    title = meta.get("title") if isinstance(meta, dict) else None
    return str(title).strip() if title else folder.slug


def course_listings(slugs: set[str] | None = None) -> list[CourseListing]:
    """The editable course folders by title, each with its state and its last change."""
    folders = course_folders(slugs)
    live = {
        c.slug: c.content_hash
        for c in db.session.scalars(
            select(Course).where(Course.slug.in_([f.slug for f in folders]))
        )
    }
    listings = []
    for folder in folders:
        if folder.slug not in live:
            state = NEVER_PUBLISHED
        else:
            state = PUBLISHED if live[folder.slug] == content_hash(folder.path) else DRAFT
        changes = history(folder.slug, limit=1)
        listings.append(
            CourseListing(folder, folder_title(folder), state, changes[0] if changes else None)
        )
    return sorted(listings, key=lambda listing: listing.title.casefold())


def course_state(folder: CourseFolder) -> str:
    course = db.session.scalar(select(Course).where(Course.slug == folder.slug))
    if course is None:
        return NEVER_PUBLISHED
    return PUBLISHED if course.content_hash == content_hash(folder.path) else DRAFT


def history(slug: str, limit: int = 50) -> list[CourseChange]:
    """The latest changes of a course folder, newest first."""
    return list(
        db.session.scalars(
            select(CourseChange)
            .where(CourseChange.course_slug == slug)
            .order_by(CourseChange.changed_at.desc(), CourseChange.id.desc())
            .limit(limit)
        )
    )


def record_change(folder: CourseFolder, user: User, action: str, filename="", summary=""):
    db.session.add(
        CourseChange(
            course_slug=folder.slug,
            filename=filename,
            action=action,
            summary=summary[:200],
            user_id=user.id,
        )
    )
    # Staff changing what trainees learn: in the audit log too, about the author's centre.
    details = {"file": filename, "summary": summary[:200]} if filename else None
    record(
        f"course.{action}",
        f"course {folder.slug}",
        details,
        centre_id=user.centre_id,
        actor=user,
        commit=False,
    )
    db.session.commit()


def lines_changed(old: str, new: str) -> str:
    """ "+3 −1 lines": what a save changed, for the history."""
    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return f"+{added} −{removed} lines"


def course_folder(slug: str) -> CourseFolder:
    if not COURSE_SLUG.match(slug or ""):
        raise AuthoringError("That is not a course name.")
    path = courses_dir() / slug
    if not (path / "course.yaml").is_file():
        raise AuthoringError(f"There is no course folder '{slug}'.")
    files = ["course.yaml"] + sorted(p.name for p in path.glob("*.md") if MODULE_FILE.match(p.name))
    return CourseFolder(slug, path, files)


def editable_path(folder: CourseFolder, filename: str) -> Path:
    """Only course.yaml and NN-slug.md files directly in the course folder are editable."""
    if filename != "course.yaml" and not MODULE_FILE.match(filename or ""):
        raise AuthoringError(
            "Only course.yaml and module files named like 01-topic.md can be edited."
        )
    return folder.path / filename


def read_file(folder: CourseFolder, filename: str) -> str:
    path = editable_path(folder, filename)
    return path.read_text(encoding="utf-8") if path.exists() else ""


def validate_change(folder: CourseFolder, filename: str, text: str) -> list[ContentIssue]:
    """Problems the course would have with ``text`` as ``filename`` (empty list: fine)."""
    if len(text.encode()) > MAX_FILE_BYTES:
        raise AuthoringError(f"The file is larger than {MAX_FILE_BYTES // 1024} KiB.")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / folder.slug
        shutil.copytree(folder.path, copy)
        (copy / filename).write_text(text, encoding="utf-8")
        try:
            course = load_course(copy, known_labs=lab_library.lab_slugs())
        except ContentError as exc:
            return [
                ContentIssue(str(folder.path / Path(i.path).relative_to(copy)), i.line, i.message)
                if Path(i.path).is_relative_to(copy)
                else i
                for i in exc.issues
            ]
    return [
        team_lab_issue(folder.path / module.filename, module)
        for module in course.modules
        if module.lab and (spec := lab_library.get_spec(module.lab)) and spec.is_team
    ]


def save_file(folder: CourseFolder, filename: str, text: str) -> list[ContentIssue]:
    """Write the file if the course stays valid; otherwise change nothing and return the issues."""
    path = editable_path(folder, filename)
    issues = validate_change(folder, filename, text)
    if issues:
        return issues
    try:
        _write_whole(path, text)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise AuthoringError(
            f"Not saved: the server could not write {filename} in {folder.path} ({reason}). "
            "Your text is kept here; ask an administrator to make the courses folder "
            "writable, then save again."
        ) from exc
    return []


def _write_whole(path: Path, text: str) -> None:
    """Write then rename: a reader never sees half a file, and a failed write leaves the
    old file as it was and no temporary file behind."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".edit-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as tmp:
            tmp.write(text)
        os.replace(tmp_name, path)
    except OSError:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def preview(course_slug: str, text: str) -> str:
    """Module Markdown as the trainee will see it (front matter and quiz left out)."""
    try:
        _front, body = frontmatter.YAMLHandler().split(text)
    except ValueError:
        body = text
    body = QUIZ_FENCE.sub("", body)
    return render_markdown(body, lambda p: asset_url(course_slug, p)).html


NEW_MODULE_TEMPLATE = """---
title: {title}
duration: 20
objectives:
  - What the trainee will be able to do
---
## Introduction

Write the module here.

```quiz
- question: A first question?
  choices: ["Right answer", "Wrong answer"]
  answer: 1
  explain: Why the right answer is right.
```
"""


def create_module(folder: CourseFolder, filename: str, title: str) -> list[ContentIssue]:
    if not MODULE_FILE.match(filename or ""):
        raise AuthoringError(
            "Name the file like 06-topic-name.md (number, dash, lower-case words)."
        )
    if (folder.path / filename).exists():
        raise AuthoringError(f"{filename} already exists.")
    safe_title = (title or "New module").replace('"', "'")
    return save_file(folder, filename, NEW_MODULE_TEMPLATE.format(title=f'"{safe_title}"'))


def publish(folder: CourseFolder) -> SyncReport:
    return sync_courses(folder.path)
