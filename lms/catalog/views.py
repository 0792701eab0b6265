"""Course images and the code highlighting style (the catalogue, course and module pages
are in lms.progress.course_pages: they show the trainee's progress)."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, send_from_directory
from flask_login import login_required
from pygments.formatters import HtmlFormatter

from lms.catalog import services
from lms.catalog.blueprint import bp
from lms.catalog.rendering import IMAGE_SUFFIXES


def course_or_404(slug: str):
    course = services.get_course(slug)
    if course is None:
        abort(404, description="There is no course at this address. It may have been withdrawn.")
    return course


@bp.get("/courses/<slug>/assets/<path:path>")
@login_required
def course_asset(slug: str, path: str):
    course = course_or_404(slug)
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        abort(404)
    # send_from_directory refuses names that leave the folder but follows symbolic links:
    # the real path must be an image inside the course folder too.
    root = Path(course.source_dir).resolve()
    try:
        target = (root / path).resolve()
    except (OSError, RuntimeError, ValueError):
        abort(404)
    if not target.is_relative_to(root) or target.suffix.lower() not in IMAGE_SUFFIXES:
        abort(404)
    return send_from_directory(course.source_dir, path, max_age=3600)


@bp.get("/static/pygments.css")
def pygments_css():
    css = HtmlFormatter(style="default").get_style_defs(".codehilite")
    return Response(css, mimetype="text/css", headers={"Cache-Control": "public, max-age=86400"})
