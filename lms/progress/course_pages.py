"""The catalogue, course and module pages: courses as the trainee sees them, with their
progress. Routes of the catalog blueprint (their addresses and endpoint names are
catalog's); here because they read progress, which sits above catalog."""

from __future__ import annotations

from flask import abort, render_template, request
from flask_login import current_user, login_required

from lms.catalog import services, snapshots
from lms.catalog.blueprint import bp
from lms.catalog.loader import LEVELS
from lms.catalog.views import course_or_404
from lms.progress import points
from lms.progress import services as progress
from lms.progress.pages import render_module_page


@bp.get("/catalogue")
@login_required
def catalogue():
    query = request.args.get("q", "")[:100]
    level = request.args.get("level", "")
    tag = request.args.get("tag", "")
    hits = services.search_courses(query, level if level in LEVELS else "", tag)
    courses = [h.course for h in hits]
    return render_template(
        "catalog/catalogue.html",
        hits=hits,
        query=query,
        level=level,
        tag=tag,
        levels=LEVELS,
        tags=services.all_tags(),
        progress={c.id: progress.course_progress(current_user, c) for c in courses},
    )


@bp.get("/courses/<slug>")
@login_required
def course(slug: str):
    course = course_or_404(slug)
    return render_template(
        "catalog/course.html",
        course=course,
        progress=progress.course_progress(current_user, course),
        points=points.points_of(current_user, course),
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
