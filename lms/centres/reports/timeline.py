"""A trainee's page: their courses and a timeline of everything they did.

One query per kind of event (cohorts, courses, modules, quizzes, labs, tasks,
flag shares), each turned into ``TimelineEvent``s by its own function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from lms.auth.models import User, utcnow
from lms.catalog.models import Course, Module
from lms.centres.models import Cohort, CohortMember
from lms.centres.reports.lab_time import session_minutes
from lms.extensions import db
from lms.labs.flags import shares_involving
from lms.labs.models import LabSession, TaskAttempt
from lms.progress.models import DONE, Enrolment, ModuleProgress, QuizAttempt

MAX_EVENTS = 2000
TASK_VERBS = {
    "flag": "Submitted a flag for",
    "check": "Asked for a check of",
    "hint": "Revealed the hint of",
}


@dataclass
class TimelineEvent:
    at: datetime
    kind: str  # cohort, course, module, quiz, lab, task, flag-share
    text: str
    outcome: str = ""  # success, failure or ""


@dataclass
class CourseLine:
    course_id: int
    slug: str
    title: str
    done: int
    total: int
    average_score: float | None
    due_on: date | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class TraineeReport:
    trainee: User
    cohorts: list[Cohort]
    courses: list[CourseLine]
    events: list[TimelineEvent]
    lab_minutes: int
    truncated: bool


def trainee_report(
    trainee: User, cohorts: list[Cohort], now: datetime | None = None
) -> TraineeReport:
    """A trainee's courses and a timeline of everything they did, newest first."""
    now = now or utcnow()
    where = _module_names(trainee)
    lab_events, lab_minutes = _lab_events(trainee, now)
    events = [
        *_cohort_events(trainee, cohorts),
        *_course_events(trainee),
        *_module_events(trainee, where),
        *_quiz_events(trainee, where),
        *lab_events,
        *_task_events(trainee),
        *_flag_share_events(trainee),
    ]
    events.sort(key=lambda e: e.at, reverse=True)
    return TraineeReport(
        trainee,
        cohorts,
        _course_lines(trainee, cohorts),
        events[:MAX_EVENTS],
        lab_minutes,
        len(events) > MAX_EVENTS,
    )


def _module_names(trainee: User) -> Callable[[int], str]:
    """A function naming a module the trainee worked on: “Module” (Course)."""
    titles = {
        mid: (mtitle, ctitle)
        for mid, mtitle, ctitle in db.session.execute(
            select(Module.id, Module.title, Course.title)
            .join(Course, Course.id == Module.course_id)
            .where(
                Module.id.in_(
                    select(ModuleProgress.module_id)
                    .where(ModuleProgress.user_id == trainee.id)
                    .union(select(QuizAttempt.module_id).where(QuizAttempt.user_id == trainee.id))
                )
            )
        )
    }

    def where(module_id: int) -> str:
        module, course = titles.get(module_id, ("a removed module", ""))
        return f"“{module}” ({course})" if course else module

    return where


def _cohort_events(trainee: User, cohorts: list[Cohort]) -> list[TimelineEvent]:
    """When the trainee joined each of the given cohorts."""
    return [
        TimelineEvent(m.joined_at, "cohort", f"Joined the cohort {m.cohort.name}")
        for m in db.session.scalars(select(CohortMember).where(CohortMember.user_id == trainee.id))
        if m.cohort in cohorts
    ]


def _course_events(trainee: User) -> list[TimelineEvent]:
    events = []
    for started_at, completed_at, title in db.session.execute(
        select(Enrolment.started_at, Enrolment.completed_at, Course.title)
        .join(Course, Course.id == Enrolment.course_id)
        .where(Enrolment.user_id == trainee.id)
    ):
        events.append(TimelineEvent(started_at, "course", f"Started the course {title}"))
        if completed_at:
            events.append(
                TimelineEvent(completed_at, "course", f"Completed the course {title}", "success")
            )
    return events


def _module_events(trainee: User, where: Callable[[int], str]) -> list[TimelineEvent]:
    events = []
    for record in db.session.scalars(
        select(ModuleProgress).where(ModuleProgress.user_id == trainee.id)
    ):
        events.append(
            TimelineEvent(record.first_seen_at, "module", f"Opened {where(record.module_id)}")
        )
        if record.completed_at:
            events.append(
                TimelineEvent(
                    record.completed_at, "module", f"Completed {where(record.module_id)}", "success"
                )
            )
    return events


def _quiz_events(trainee: User, where: Callable[[int], str]) -> list[TimelineEvent]:
    return [
        TimelineEvent(
            attempt.created_at,
            "quiz",
            f"Quiz in {where(attempt.module_id)}: {round(100 * attempt.score)} %",
            "success" if attempt.passed else "failure",
        )
        for attempt in db.session.scalars(
            select(QuizAttempt).where(QuizAttempt.user_id == trainee.id)
        )
    ]


def _lab_events(trainee: User, now: datetime) -> tuple[list[TimelineEvent], int]:
    """Lab sessions started and ended, and the trainee's lab time in minutes."""
    events, lab_minutes = [], 0
    for session in db.session.scalars(select(LabSession).where(LabSession.user_id == trainee.id)):
        minutes = session_minutes(session.started_at, session.ended_at, session.expires_at, now)
        lab_minutes += minutes
        events.append(
            TimelineEvent(session.created_at, "lab", f"Started the lab {session.lab_slug}")
        )
        if session.ended_at:
            why = f" ({session.end_reason})" if session.end_reason else ""
            events.append(
                TimelineEvent(
                    session.ended_at,
                    "lab",
                    f"Lab {session.lab_slug} ended{why} after {minutes} min",
                    "failure" if session.status == "failed" else "",
                )
            )
    return events, lab_minutes


def _task_events(trainee: User) -> list[TimelineEvent]:
    """Flags submitted, checks asked for and hints revealed."""
    events = []
    for attempt in db.session.scalars(select(TaskAttempt).where(TaskAttempt.user_id == trainee.id)):
        outcome = "" if attempt.kind == "hint" else ("success" if attempt.success else "failure")
        text = (
            f"{TASK_VERBS.get(attempt.kind, attempt.kind)} {attempt.lab_slug} › {attempt.task_id}"
        )
        if attempt.kind != "hint":
            words = ("right", "wrong") if attempt.kind == "flag" else ("passed", "failed")
            text += ": " + words[0 if attempt.success else 1]
        events.append(TimelineEvent(attempt.created_at, "task", text, outcome))
    return events


def _flag_share_events(trainee: User) -> list[TimelineEvent]:
    events = []
    for share in shares_involving([trainee.id]):
        if share.submitter_id == trainee.id:
            text = f"Submitted the {share.lab_slug} flag of {share.owner.display_name} (possible sharing)"
        else:
            text = f"Their {share.lab_slug} flag was submitted by {share.submitter.display_name}"
        events.append(TimelineEvent(share.created_at, "flag-share", text, "failure"))
    return events


def _course_lines(trainee: User, cohorts: list[Cohort]) -> list[CourseLine]:
    """Progress in the courses of the given cohorts (earliest due date wins)."""
    due: dict[int, date | None] = {}
    for cohort in cohorts:
        for a in cohort.courses:
            if a.course_id not in due or (
                a.due_on and (due[a.course_id] is None or a.due_on < due[a.course_id])
            ):
                due[a.course_id] = a.due_on
    if not due:
        return []
    modules = db.session.execute(
        select(Module.id, Module.course_id).where(
            Module.course_id.in_(list(due)), Module.retired.is_(False)
        )
    ).all()
    progress = {
        mid: (status, score)
        for mid, status, score in db.session.execute(
            select(
                ModuleProgress.module_id, ModuleProgress.status, ModuleProgress.quiz_score
            ).where(
                ModuleProgress.user_id == trainee.id,
                ModuleProgress.module_id.in_([m.id for m in modules]),
            )
        )
    }
    courses = {c.id: c for c in db.session.scalars(select(Course).where(Course.id.in_(list(due))))}
    lines = []
    for course_id, due_on in due.items():
        ids = [m.id for m in modules if m.course_id == course_id]
        scores = [progress[i][1] for i in ids if i in progress and progress[i][1] is not None]
        lines.append(
            CourseLine(
                course_id,
                courses[course_id].slug,
                courses[course_id].title,
                sum(1 for i in ids if progress.get(i, ("",))[0] == DONE),
                len(ids),
                sum(scores) / len(scores) if scores else None,
                due_on,
            )
        )
    return sorted(lines, key=lambda c: c.title)
