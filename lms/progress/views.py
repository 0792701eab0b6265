"""Home page, starting a course, quiz submission and completion."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.catalog import services as catalog
from lms.catalog import snapshots
from lms.progress import points, quizzes, services
from lms.progress.blueprint import bp
from lms.progress.pages import render_module_page
from lms.web import form_page
from lms.web.role_homes import role_home

# Flash category of a refused "Mark as complete": the module page shows it in its
# "Finish this module" section, not at the top of the page (base.html skips it).
FINISH_MESSAGE = "finish-warning"


@bp.get("/")
@login_required
def home():
    page = role_home(current_user)  # the home a domain registered for this role, if any
    if page is not None:
        return page
    courses = services.enrolled_progress(current_user)
    started = {p.course.id for p in courses}
    suggestions = [c for c in catalog.visible_courses(current_user) if c.id not in started]
    resume = next((p for p in courses if p.percent < 100 and p.next_module), None)
    return render_template(
        "progress/home.html", courses=courses, suggestions=suggestions, resume=resume
    )


def _module_or_404(slug: str, module_slug: str):
    course = snapshots.published_course(slug)
    module = course.module(module_slug) if course else None
    if module is None:
        abort(404, description="This module does not exist.")
    return course, module


@bp.post("/courses/<slug>/start")
@login_required
def start_course(slug: str):
    course = catalog.get_course(slug)
    if course is None or not course.live_modules:
        abort(404, description="There is no course at this address.")
    services.enrol(current_user, course)
    first = services.course_progress(current_user, course).next_module
    return redirect(url_for("catalog.module", slug=slug, module_slug=first.slug))


@bp.post("/courses/<slug>/<module_slug>/quiz")
@form_page("catalog.module")
@login_required
def submit_quiz(slug: str, module_slug: str):
    course, module = _module_or_404(slug, module_slug)
    if not module.quiz:
        abort(400, description="This module has no quiz.")
    rules = course.quiz_rules
    refusal = quizzes.quiz_state(current_user, module, rules).refusal()
    if refusal is not None:  # the rules hold on the server, whatever the page showed
        response, status = render_module_page(course, module, notice=refusal.message, status=429)
        if refusal.retry_after is None:
            return response, 409
        return response, status, {"Retry-After": str(refusal.retry_after)}
    # A drawn attempt is graded on the questions shown; otherwise every question is asked,
    # and the paper is only the ticket the attempt uses up.
    asked = quizzes.paper_for(current_user, module, rules, draw=not rules.draws)
    if asked is None:
        return render_module_page(course, module, notice=quizzes.ALREADY_GRADED, status=409)
    try:
        answers = quizzes.parse_answers(asked, request.form)
    except quizzes.QuizIncomplete as exc:
        return render_module_page(course, module, draft=exc, status=422)
    except quizzes.QuizSubmissionError as exc:
        abort(400, description=str(exc))
    try:
        result = quizzes.submit(current_user, module, asked, answers, rules)
    except quizzes.QuizClosed as exc:
        return render_module_page(course, module, notice=exc.message, status=409)
    return render_module_page(course, module, result=result, asked=asked)


@bp.get("/courses/<slug>/<module_slug>/completion")
@login_required
def completion_state(slug: str, module_slug: str):
    """What is still missing before the module can be marked complete (the module page
    asks again when the trainee finishes lab tasks in the page)."""
    _course, module = _module_or_404(slug, module_slug)
    record = services.module_progress(current_user, module)
    return jsonify(
        done=bool(record and record.status == services.DONE),
        missing=services.unmet_requirements(current_user, module, record=record),
    )


@bp.post("/courses/<slug>/<module_slug>/complete")
@form_page("catalog.module")
@login_required
def complete_module(slug: str, module_slug: str):
    course, module = _module_or_404(slug, module_slug)
    missing = services.complete_module(current_user, module)
    if missing:
        # Shown in the "Finish this module" section, where the trainee clicked.
        flash("Not yet: " + "; ".join(missing) + ".", FINISH_MESSAGE)
        return redirect(url_for("catalog.module", slug=slug, module_slug=module_slug) + "#finish")
    flash(_("“%(module_title)s” is complete.", module_title=module.title), "success")
    following = services.course_progress(current_user, course).next_module
    if following and following.id != module.id:
        return redirect(url_for("catalog.module", slug=slug, module_slug=following.slug))
    return redirect(url_for("catalog.course", slug=slug))


@bp.get("/points")
@login_required
def my_points():
    courses = [p.course for p in services.enrolled_progress(current_user)]
    return render_template(
        "progress/points.html",
        summary=points.user_points(current_user, courses),
        question_points=quizzes.QUESTION_POINTS,
    )
