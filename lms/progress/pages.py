"""The module page, shared by reading a module and grading its quiz."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

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
    ), status
