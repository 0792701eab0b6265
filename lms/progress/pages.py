"""The module page, shared by reading a module and grading its quiz."""

from __future__ import annotations

from dataclasses import dataclass

from flask import render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from lms.progress import quizzes
from lms.progress import services as progress


@dataclass
class QuizView:
    """What the quiz part of the module page shows (catalog/_quiz.html)."""

    state: quizzes.QuizState
    asked: list  # the questions of the coming (or just graded) attempt
    drawn: bool  # the course draws or shuffles: each attempt has its own stored questions
    notice: str | None = None  # why a submission was refused
    review: tuple | None = None  # (asked, result) of the last attempt, once the quiz is closed

    @property
    def rules_text(self) -> str:
        """The rules in a sentence, when they differ from self-study's."""
        rules, state, parts = self.state.rules, self.state, []
        if rules.questions_per_attempt is not None:
            parts.append(f"each attempt asks {len(self.asked)} questions drawn from a larger set")
        if rules.max_attempts is not None:
            parts.append(
                f"attempt {min(state.attempts + 1, rules.max_attempts)} of {rules.max_attempts}"
            )
        if rules.cooldown_minutes:
            parts.append(f"{rules.cooldown_minutes} minutes' wait after a failed attempt")
        if rules.explanations != quizzes.ALWAYS:
            parts.append("explanations once you pass or use the last attempt")
        return ("This quiz: " + "; ".join(parts) + ".") if parts else ""

    @property
    def wait_text(self) -> str:
        refusal = self.state.refusal()
        return refusal.message if refusal else ""


def quiz_view(course, module, record, result=None, asked=None, notice=None) -> QuizView:
    """The trainee's quiz as the page shows it; ``asked`` the questions just graded."""
    rules = course.quiz_rules
    state = quizzes.quiz_state(current_user, module, rules, record)
    if asked is None:
        open_attempt = state.closed is None and state.wait_until is None
        asked = (
            quizzes.paper_for(current_user, module, rules)
            if open_attempt
            else quizzes.all_questions(module)
        )
    review = quizzes.last_review(current_user, module) if state.closed and not result else None
    return QuizView(state, asked, rules.draws, notice, review)


def render_module_page(
    course,
    module,
    result=None,
    draft=None,
    status=200,
    course_progress=None,
    asked=None,
    notice=None,
):
    """The module page; ``result`` is a quiz result just graded (``asked``: its questions),
    ``draft`` an incomplete submission (a ``QuizIncomplete``) shown again to finish,
    ``notice`` why a submission was refused, ``course_progress`` the trainee's progress
    when the caller has just read it."""
    modules = course.live_modules
    index = next(i for i, m in enumerate(modules) if m.id == module.id)
    course_progress = course_progress or progress.course_progress(current_user, course)
    record = course_progress.records.get(module.id)
    quiz = quiz_view(course, module, record, result, asked, notice) if module.quiz else None
    cached = not (result or draft) and quiz and not quiz.drawn
    return render_template(
        "catalog/module.html",
        course=course,
        module=module,
        record=record,
        previous=modules[index - 1] if index > 0 else None,
        next=modules[index + 1] if index + 1 < len(modules) else None,
        course_progress=course_progress,
        missing=progress.unmet_requirements(
            current_user,
            module,
            record=record,
            quiz_met=quiz.state.requirement_met if quiz else None,
        ),
        result=result,
        draft=draft,
        quiz=quiz,
        questions_html=_first_questions(module) if cached else None,
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
            "catalog/_quiz_questions.html",
            asked=quizzes.all_questions(module),
            result=None,
            draft=None,
            readonly=False,
            explain=False,
        )
        fragments["quiz"] = Markup(html)  # noqa: S704 - an autoescaped template's output
    return fragments["quiz"]
