"""A trainee's points: quizzes (``lms.progress.quizzes.QUESTION_POINTS`` per question asked,
at the best score) plus lab tasks done, minus the hints' penalties; per course and overall.

Labs sit above progress: they add their part through ``points_sources`` (registered by
``lms.labs.init_app``). Every function takes many trainees at once, so a cohort's
leaderboard costs a few queries, not a few per trainee.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from lms.auth.models import User
from lms.extensions import db
from lms.progress import quizzes
from lms.progress.models import ModuleProgress


@dataclass
class LabPoints:
    """What a source adds for one trainee: points of tasks done, hint penalties."""

    tasks: int = 0
    penalties: int = 0


@dataclass
class SourcePoints:
    """A source's answer: the points its part of the course is worth, and per trainee."""

    possible: int = 0
    by_user: dict[int, LabPoints] = field(default_factory=dict)


# source(user ids, the course's live modules) -> SourcePoints
PointsSource = Callable[[Sequence[int], Sequence], SourcePoints]
points_sources: list[PointsSource] = []


@dataclass
class CoursePoints:
    course: object
    quiz: int = 0
    lab_tasks: int = 0
    hint_penalties: int = 0
    possible: int = 0  # quizzes at 100 % and every lab task, no hint

    @property
    def total(self) -> int:
        """Never below zero: hints revealed on tasks not done cannot cost more."""
        return max(0, self.quiz + self.lab_tasks - self.hint_penalties)


def course_points(user_ids: Sequence[int], course) -> dict[int, CoursePoints]:
    """Points in ``course`` (a Course or its snapshot) of each trainee in ``user_ids``."""
    modules = list(course.live_modules)
    rules = quizzes.rules_of(course)
    result = {uid: CoursePoints(course) for uid in user_ids}
    quiz_modules = {m.id: m for m in modules if m.quiz}
    possible = sum(quizzes.quiz_max_points(m, rules) for m in quiz_modules.values())
    if quiz_modules and user_ids:
        rows = db.session.execute(
            select(
                ModuleProgress.user_id, ModuleProgress.module_id, ModuleProgress.quiz_score
            ).where(
                ModuleProgress.user_id.in_(list(user_ids)),
                ModuleProgress.module_id.in_(list(quiz_modules)),
                ModuleProgress.quiz_score.is_not(None),
            )
        )
        for user_id, module_id, score in rows:
            result[user_id].quiz += quizzes.quiz_points(quiz_modules[module_id], score, rules)
    for source in points_sources:
        part = source(list(user_ids), modules)
        possible += part.possible
        for user_id, lab in part.by_user.items():
            if user_id in result:
                result[user_id].lab_tasks += lab.tasks
                result[user_id].hint_penalties += lab.penalties
    for points in result.values():
        points.possible = possible
    return result


def points_of(user: User, course) -> CoursePoints:
    return course_points([user.id], course)[user.id]


@dataclass
class PointsSummary:
    courses: list[CoursePoints]

    @property
    def total(self) -> int:
        return sum(c.total for c in self.courses)


def user_points(user: User, courses: Sequence) -> PointsSummary:
    """The trainee's points in each of ``courses`` (those they started) and overall."""
    return PointsSummary([points_of(user, course) for course in courses])


def leaderboard_totals(user_ids: Sequence[int], courses: Sequence) -> dict[int, int]:
    """Each trainee's total over ``courses``: what a leaderboard ranks."""
    totals = dict.fromkeys(user_ids, 0)
    for course in courses:
        for user_id, points in course_points(user_ids, course).items():
            totals[user_id] += points.total
    return totals
