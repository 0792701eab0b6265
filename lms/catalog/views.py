"""Catalogue, course and module pages, and course images."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, render_template, request, send_from_directory
from flask_login import current_user, login_required
from pygments.formatters import HtmlFormatter

from lms.catalog import bp, services, snapshots
from lms.catalog.loader import LEVELS
from lms.catalog.rendering import IMAGE_SUFFIXES
from lms.progress import services as progress
from lms.progress.pages import render_module_page


@bp.get("/catalogue")
@login_required
def catalogue():
    query = request.args.get("q", "")[:100]
    level = request.args.get("level", "")
    tag = request.args.get("tag", "")
    courses = services.search_courses(query, level if level in LEVELS else "", tag)
    return render_template(
        "catalog/catalogue.html",
        courses=courses,
        query=query,
        level=level,
        tag=tag,
        levels=LEVELS,
        tags=services.all_tags(),
        progress={c.id: progress.course_progress(current_user, c) for c in courses},
    )


def _course_or_404(slug: str):
    course = services.get_course(slug)
    if course is None:
        abort(404, description="There is no course at this address. It may have been withdrawn.")
    return course


@bp.get("/courses/<slug>")
@login_required
def course(slug: str):
    course = _course_or_404(slug)
    return render_template(
        "catalog/course.html",
        course=course,
        progress=progress.course_progress(current_user, course),
    )


@bp.get("/courses/<slug>/<module_slug>")
@login_required
def module(slug: str, module_slug: str):
    course = snapshots.published_course(slug)
    if course is None:
        abort(404, description="There is no course at this address. It may have been withdrawn.")
    module = course.module(module_slug)
    if module is None:
        abort(404, description="This module does not exist in the course.")
    course_progress = progress.visit_module(current_user, course, module)
    return render_module_page(course, module, course_progress=course_progress)


@bp.get("/courses/<slug>/assets/<path:path>")
@login_required
def course_asset(slug: str, path: str):
    course = _course_or_404(slug)
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
