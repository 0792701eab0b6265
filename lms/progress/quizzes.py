"""Taking a module's quiz under its course's rules (``lms.catalog.quiz_rules``).

A course may shuffle choices, draw some of a module's questions per attempt, limit the
attempts, make the trainee wait after a failed one, and keep the explanations until the
trainee passed or used the last attempt. The questions drawn for the coming attempt (a
"paper") are stored in the database, so a reload shows the same ones and the grading
uses exactly those. Nothing here reveals the right answers before an attempt is graded.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select
from sqlalchemy.exc import IntegrityError

from lms.auth.models import User, utcnow
from lms.catalog.loader import MAX_TEXT_ANSWER
from lms.catalog.quiz_rules import AFTER_PASSING, ALWAYS, QuizRules
from lms.extensions import db
from lms.progress.models import ModuleProgress, QuizAttempt, QuizPaper
from lms.xapi import events as xapi

PASS_MARK = 0.8  # share of the questions asked that must be right to pass
QUESTION_POINTS = 10  # points of one question asked, at a score of 100 %

_random = secrets.SystemRandom()
ALREADY_GRADED = "This attempt was already graded (in another tab?): here is the next one."


class QuizSubmissionError(ValueError):
    """A submission that does not fit the quiz (tampered)."""


class QuizIncomplete(QuizSubmissionError):
    """Some questions have no answer: the quiz is shown again with the answers given."""

    def __init__(self, answers: dict, unanswered: list[int]):
        numbers = ", ".join(str(i + 1) for i in unanswered)
        plural = "s" if len(unanswered) > 1 else ""
        super().__init__(f"Question{plural} {numbers} ha{'ve' if plural else 's'} no answer yet.")
        self.answers = answers
        self.unanswered = unanswered


class QuizClosed(Exception):
    """No attempt may be made now; ``retry_after`` seconds when it is a wait."""

    def __init__(self, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def rules_of(course) -> QuizRules:
    """The quiz rules of a course snapshot (a QuizRules) or a Course row (a dict or None)."""
    rules = getattr(course, "quiz_rules", None)
    return rules if isinstance(rules, QuizRules) else QuizRules.from_dict(rules)


def is_text(question: dict) -> bool:
    return question.get("kind") == "text"


# -- what one attempt asks -------------------------------------------------------------------


@dataclass(frozen=True)
class AskedQuestion:
    """A question as asked in one attempt: its index in the module's quiz, and the choice
    numbers (1-based, as the author wrote them) in the order shown."""

    index: int
    question: dict
    order: tuple[int, ...]

    @property
    def choices(self) -> list[tuple[int, str]]:
        return [(number, self.question["choices"][number - 1]) for number in self.order]


def all_questions(module) -> list[AskedQuestion]:
    """Every question, choices in the author's order: what default rules ask."""
    return [
        AskedQuestion(i, q, tuple(range(1, len(q.get("choices") or []) + 1)))
        for i, q in enumerate(module.quiz or [])
    ]


def _draw(module, rules: QuizRules) -> list[list]:
    quiz = module.quiz or []
    indexes = list(range(len(quiz)))
    if rules.questions_per_attempt is not None and rules.questions_per_attempt < len(quiz):
        indexes = sorted(_random.sample(indexes, rules.questions_per_attempt))  # author's order
    drawn = []
    for i in indexes:
        order = list(range(1, len(quiz[i].get("choices") or []) + 1))
        if rules.shuffle_choices:
            _random.shuffle(order)
        drawn.append([i, order])
    return drawn


def _fits(drawn, module, rules: QuizRules) -> bool:
    """A stored paper still fits the module's quiz (a sync may have changed it)."""
    quiz = module.quiz or []
    if not isinstance(drawn, list) or len(drawn) != rules.questions_asked(len(quiz)):
        return False
    for item in drawn:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], int)):
            return False
        index, order = item
        if not 0 <= index < len(quiz):
            return False
        if sorted(order) != list(range(1, len(quiz[index].get("choices") or []) + 1)):
            return False
    return True


def _asked(module, drawn) -> list[AskedQuestion]:
    quiz = module.quiz
    return [AskedQuestion(index, quiz[index], tuple(order)) for index, order in drawn]


def paper_for(user: User, module, rules: QuizRules, draw: bool = True):
    """The questions of the trainee's coming attempt (a list of AskedQuestion).

    Default rules ask every question as written. Otherwise the paper drawn for this
    attempt is read from the database; when there is none (or the quiz changed since)
    and ``draw`` is true, a new one is drawn and stored; None when ``draw`` is false."""
    if not rules.needs_paper:
        return all_questions(module)
    paper = db.session.scalar(
        select(QuizPaper).where(QuizPaper.user_id == user.id, QuizPaper.module_id == module.id)
    )
    if paper is not None and _fits(paper.questions, module, rules):
        return _asked(module, paper.questions)
    if not draw:
        return None
    drawn = _draw(module, rules)
    if paper is None:
        db.session.add(QuizPaper(user_id=user.id, module_id=module.id, questions=drawn))
    else:
        paper.questions, paper.drawn_at = drawn, utcnow()
    try:
        db.session.commit()
    except IntegrityError:  # another tab drew at the same moment: use that paper
        db.session.rollback()
        return paper_for(user, module, rules, draw=False) or all_questions(module)
    return _asked(module, drawn)


# -- where the trainee stands ------------------------------------------------------------------


@dataclass
class QuizState:
    """The trainee's attempts at one quiz under its rules."""

    rules: QuizRules
    attempts: int = 0
    passed: bool = False
    last_attempt_at: datetime | None = None
    now: datetime = field(default_factory=utcnow)

    @property
    def attempts_left(self) -> int | None:
        if self.rules.max_attempts is None:
            return None
        return max(0, self.rules.max_attempts - self.attempts)

    @property
    def wait_until(self) -> datetime | None:
        """When the next attempt may start, after a failed one under a cool-down (none
        once the quiz was passed)."""
        if not self.rules.cooldown_minutes or self.last_attempt_at is None or self.passed:
            return None
        until = self.last_attempt_at + timedelta(minutes=self.rules.cooldown_minutes)
        return until if until > self.now else None

    @property
    def out_of_attempts(self) -> bool:
        return self.attempts_left == 0 and not self.passed

    @property
    def closed(self) -> str | None:
        """Why no more attempts are taken at all, or None."""
        if self.rules.explanations == AFTER_PASSING and self.passed:
            return "You passed this quiz; the explanations are shown below."
        if self.attempts_left == 0:
            return "You have used every attempt at this quiz."
        return None

    @property
    def show_explanations(self) -> bool:
        return self.rules.explanations == ALWAYS or self.passed or self.attempts_left == 0

    @property
    def requirement_met(self) -> bool:
        """Passed, or every attempt used: the module may then be completed (the best
        score stays what it was)."""
        return self.passed or self.out_of_attempts

    def refusal(self) -> QuizClosed | None:
        """Why an attempt may not be graded now, or None."""
        if self.closed:
            return QuizClosed(self.closed)
        if self.wait_until:
            seconds = max(1, math.ceil((self.wait_until - self.now).total_seconds()))
            return QuizClosed(
                f"Take a moment to go over the module: your next attempt opens in "
                f"{_duration(seconds)} (at {self.wait_until:%H:%M} UTC).",
                retry_after=seconds,
            )
        return None


def _duration(seconds: int) -> str:
    minutes = -(-seconds // 60)
    if minutes < 60:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _counts_attempts(rules: QuizRules) -> bool:
    return (
        rules.max_attempts is not None or rules.cooldown_minutes > 0 or rules.explanations != ALWAYS
    )


def quiz_state(user: User, module, rules: QuizRules, record=None) -> QuizState:
    """The trainee's standing at ``module``'s quiz; ``record`` is their ModuleProgress (or
    a row with ``quiz_passed``), None when they have none. Default rules read nothing;
    others one aggregate query of the attempts."""
    state = QuizState(rules, passed=bool(record and record.quiz_passed))
    if not _counts_attempts(rules):
        return state
    attempts, last_at, any_passed = db.session.execute(
        select(
            func.count(QuizAttempt.id),
            func.max(QuizAttempt.created_at),
            func.max(case((QuizAttempt.passed, 1), else_=0)),
        ).where(QuizAttempt.user_id == user.id, QuizAttempt.module_id == module.id)
    ).one()
    state.attempts, state.last_attempt_at = attempts or 0, last_at
    state.passed = state.passed or bool(any_passed)
    return state


# -- answers and grading -----------------------------------------------------------------------


@dataclass
class QuestionResult:
    index: int
    chosen: list[int] | str  # choice numbers, or the text typed
    correct: bool


@dataclass
class QuizResult:
    questions: list[QuestionResult]
    score: float
    passed: bool

    @property
    def right(self) -> int:
        return sum(q.correct for q in self.questions)

    @property
    def by_index(self) -> dict[int, QuestionResult]:
        return {q.index: q for q in self.questions}


def parse_answers(asked: list[AskedQuestion], form) -> dict[int, list[int] | str]:
    """Read ``q<N>`` fields (choice numbers, or the text typed) for the questions asked;
    reject anything that doesn't fit. Raises ``QuizIncomplete`` (with the valid answers)
    when questions are left unanswered."""
    known = {f"q{a.index}" for a in asked}
    unknown = [k for k in form if k.startswith("q") and k not in known]
    if unknown:
        raise QuizSubmissionError(
            f"Unknown question '{unknown[0]}': it is not part of this attempt. Reload the page: "
            "if the attempt was graded in another tab, the next one has other questions."
        )
    answers: dict[int, list[int] | str] = {}
    unanswered: list[int] = []
    for position, item in enumerate(asked):
        name = f"q{item.index}"
        if is_text(item.question):
            typed = (form.get(name) or "").strip()
            if len(typed) > MAX_TEXT_ANSWER:
                raise QuizSubmissionError(
                    f"Question {position + 1}: an answer has at most {MAX_TEXT_ANSWER} characters."
                )
            if typed:
                answers[item.index] = typed
            else:
                unanswered.append(item.index)
            continue
        raw = form.getlist(name)
        if not raw:
            unanswered.append(item.index)
            continue
        try:
            chosen = sorted({int(v) for v in raw})
        except ValueError:
            raise QuizSubmissionError(
                f"Question {position + 1}: answers are choice numbers."
            ) from None
        if any(c < 1 or c > len(item.question["choices"]) for c in chosen):
            raise QuizSubmissionError(f"Question {position + 1}: that choice does not exist.")
        if not item.question.get("multiple") and len(chosen) > 1:
            raise QuizSubmissionError(f"Question {position + 1} takes one answer.")
        answers[item.index] = chosen
    if unanswered:
        raise QuizIncomplete(answers, unanswered)
    return answers


def text_matches(question: dict, typed: str) -> bool:
    """Whether a typed answer is one of the question's accepted answers."""
    typed = typed.strip()
    match = question.get("match", "exact")
    for accepted in question.get("accepted") or []:
        if match == "pattern":
            try:
                if re.fullmatch(accepted, typed):
                    return True
            except re.error:  # validated at sync; an old row must not cost the page
                continue
        elif match == "ignore_case":
            if typed.casefold() == accepted.casefold():
                return True
        elif typed == accepted:
            return True
    return False


def is_right(question: dict, answer) -> bool:
    if is_text(question):
        return isinstance(answer, str) and text_matches(question, answer)
    return isinstance(answer, list) and sorted(answer) == sorted(question["answer"])


def grade(asked: list[AskedQuestion], answers: dict) -> QuizResult:
    results = [
        QuestionResult(
            a.index, answers.get(a.index, []), is_right(a.question, answers.get(a.index))
        )
        for a in asked
    ]
    score = sum(r.correct for r in results) / len(results) if results else 1.0
    return QuizResult(results, score, score >= PASS_MARK)


def submit(
    user: User, module, asked: list[AskedQuestion], answers: dict, rules: QuizRules
) -> QuizResult:
    """Grade an attempt, record it and the best score, and use up its paper (one commit).

    Raises QuizClosed when the paper was used up meanwhile (the same attempt sent twice
    at once, from two tabs): only one of them is graded."""
    if rules.needs_paper:
        used = db.session.execute(
            delete(QuizPaper).where(QuizPaper.user_id == user.id, QuizPaper.module_id == module.id)
        )
        if used.rowcount != 1:
            db.session.rollback()
            raise QuizClosed(ALREADY_GRADED)
    result = grade(asked, answers)
    db.session.add(
        QuizAttempt(
            user_id=user.id,
            module_id=module.id,
            score=result.score,
            passed=result.passed,
            answers={str(k): v for k, v in answers.items()},
        )
    )
    record = db.session.scalar(
        select(ModuleProgress).where(
            ModuleProgress.user_id == user.id, ModuleProgress.module_id == module.id
        )
    )
    if record is None:
        record = ModuleProgress(user_id=user.id, module_id=module.id)
        db.session.add(record)
    record.quiz_score = max(record.quiz_score or 0.0, result.score)
    record.quiz_passed = bool(record.quiz_passed) or result.passed
    xapi.quiz_answered(user, module, result)
    db.session.commit()
    return result


def last_review(user: User, module) -> tuple[list[AskedQuestion], QuizResult] | None:
    """The trainee's last graded attempt, graded again for showing with its explanations
    (the questions it asked, in the author's order), or None."""
    attempt = db.session.scalar(
        select(QuizAttempt)
        .where(QuizAttempt.user_id == user.id, QuizAttempt.module_id == module.id)
        .order_by(QuizAttempt.id.desc())
        .limit(1)
    )
    quiz = module.quiz or []
    if attempt is None:
        return None
    answers = {}
    for key, value in (attempt.answers or {}).items():
        if key.isdigit() and int(key) < len(quiz):
            answers[int(key)] = value
    asked = [a for a in all_questions(module) if a.index in answers]
    if not asked:
        return None
    return asked, grade(asked, answers)


def quiz_points(module, score: float | None, rules: QuizRules) -> int:
    """Points of a quiz at a best ``score``: QUESTION_POINTS per question asked."""
    if not module.quiz or not score:
        return 0
    return round(score * quiz_max_points(module, rules))


def quiz_max_points(module, rules: QuizRules) -> int:
    return QUESTION_POINTS * rules.questions_asked(len(module.quiz or []))
