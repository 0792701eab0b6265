"""The module page, shared by reading a module and grading its quiz."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from lms.progress import services as progress


def render_module_page(course, module, result=None, draft=None, status=200, course_progress=None):
    """The module page; ``result`` is a quiz result just graded, ``draft`` an incomplete
    submission (a ``QuizIncomplete``) shown again to finish, ``course_progress`` the
    trainee's progress when the caller has just read it."""
    modules = course.live_modules
    index = next(i for i, m in enumerate(modules) if m.id == module.id)
    course_progress = course_progress or progress.course_progress(current_user, course)
    record = course_progress.records.get(module.id)
    return render_template(
        "catalog/module.html",
        course=course,
        module=module,
        record=record,
        previous=modules[index - 1] if index > 0 else None,
        next=modules[index + 1] if index + 1 < len(modules) else None,
        course_progress=course_progress,
        missing=progress.unmet_requirements(current_user, module, record=record),
        result=result,
        draft=draft,
        questions_html=None if result or draft else _first_questions(module),
        links=_links(course),
    ), status


def _links(course) -> dict:
    """The addresses the page links to, the same for every reader: built once per course
    version (and per script root, for a platform mounted below /)."""
    cache = getattr(course, "fragments", {})
    key = ("links", request.script_root)
    if key not in cache:
        modules = course.live_modules

        def each(endpoint):
            return {m.id: url_for(endpoint, slug=course.slug, module_slug=m.slug) for m in modules}

        cache[key] = {
            "course": url_for("catalog.course", slug=course.slug),
            "module": each("catalog.module"),
            "quiz": each("progress.submit_quiz"),
            "complete": each("progress.complete_module"),
            "completion": each("progress.completion_state"),
        }
    return cache[key]


def _first_questions(module) -> Markup | None:
    """The quiz's questions as every reader first sees them (nothing chosen), rendered once
    per course version: kept on the module's snapshot, which a sync replaces."""
    fragments = getattr(module, "fragments", None)
    if fragments is None or not module.quiz:
        return None
    if "quiz" not in fragments:
        html = render_template(
            "catalog/_quiz_questions.html", module=module, result=None, draft=None
        )
        fragments["quiz"] = Markup(html)  # noqa: S704 - an autoescaped template's output
    return fragments["quiz"]
