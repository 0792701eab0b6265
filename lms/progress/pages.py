"""The module page, shared by reading a module and grading its quiz."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from lms.progress import services as progress


def render_module_page(course, module, result=None, draft=None, status=200):
    """The module page; ``result`` is a quiz result just graded (shown instead of the last one),
    ``draft`` an incomplete submission (a ``QuizIncomplete``) shown again to finish."""
    modules = course.live_modules
    index = modules.index(module)
    return render_template(
        "catalog/module.html",
        course=course,
        module=module,
        record=progress.module_progress(current_user, module),
        previous=modules[index - 1] if index > 0 else None,
        next=modules[index + 1] if index + 1 < len(modules) else None,
        course_progress=progress.course_progress(current_user, course),
        attempt=None if result else progress.last_attempt(current_user, module),
        missing=progress.unmet_requirements(current_user, module),
        result=result,
        draft=draft,
    ), status
