"""What a trainee's home page shows: the courses assigned to their cohorts with due dates
(overdue first), where to continue, the lab they have running, their other courses.
Reads the database only (a running lab's time left is its stored expiry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from lms.auth.models import User, utcnow
from lms.catalog import services as catalog
from lms.catalog.models import Course, Module
from lms.centres.models import Cohort, CohortCourse, CohortMember
from lms.content import lab_library
from lms.extensions import db
from lms.labs import services as labs
from lms.labs.models import LabSession
from lms.progress import services as progress
from lms.progress.services import CourseProgress

DUE_SOON = timedelta(days=7)


@dataclass
class Assignment:
    """A course assigned to one or more of the trainee's cohorts."""

    course: Course
    due_on: date | None  # the earliest due date of its cohorts
    cohorts: list[str]
    progress: CourseProgress
    today: date

    @property
    def done(self) -> bool:
        return self.progress.total > 0 and self.progress.done == self.progress.total

    @property
    def state(self) -> str:
        """done | overdue | due-soon | open"""
        if self.done:
            return "done"
        if self.due_on and self.due_on < self.today:
            return "overdue"
        if self.due_on and self.due_on - self.today <= DUE_SOON:
            return "due-soon"
        return "open"

    @property
    def days_left(self) -> int | None:
        return (self.due_on - self.today).days if self.due_on else None

    def sort_key(self):
        return (self.done, self.due_on is None, self.due_on or date.max, self.course.title)


@dataclass
class RunningLab:
    session: LabSession
    title: str
    module: Module | None

    @property
    def seconds_left(self) -> int:
        return self.session.seconds_left()


@dataclass
class TraineeHome:
    assignments: list[Assignment]
    resume: CourseProgress | None
    running_labs: list[RunningLab]
    other_courses: list[CourseProgress]
    suggestions: list[Course] = field(default_factory=list)


def assignments_of(user: User, today: date | None = None) -> list[Assignment]:
    """The published courses assigned to the user's cohorts, open ones first, the most
    urgent due date first, completed ones last."""
    today = today or utcnow().date()
    rows = db.session.execute(
        select(CohortCourse.course_id, CohortCourse.due_on, Cohort.name)
        .join(Cohort, Cohort.id == CohortCourse.cohort_id)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .where(CohortMember.user_id == user.id)
        .order_by(Cohort.name)
    ).all()
    due: dict[int, date | None] = {}
    cohorts: dict[int, list[str]] = {}
    for course_id, due_on, cohort in rows:
        earliest = due.get(course_id)
        due[course_id] = min(d for d in (earliest, due_on) if d) if earliest or due_on else None
        cohorts.setdefault(course_id, []).append(cohort)
    if not due:
        return []
    courses = db.session.scalars(select(Course).where(Course.id.in_(due), Course.is_published))
    assignments = [
        Assignment(c, due[c.id], cohorts[c.id], progress.course_progress(user, c), today)
        for c in courses
    ]
    return sorted(assignments, key=Assignment.sort_key)


def running_labs_of(user: User) -> list[RunningLab]:
    found = []
    for session in labs.live_sessions(user.id):
        spec = lab_library.get_spec(session.lab_slug)
        module = db.session.get(Module, session.module_id) if session.module_id else None
        found.append(RunningLab(session, spec.title if spec else session.lab_slug, module))
    return found


def trainee_home(user: User) -> TraineeHome:
    assignments = assignments_of(user)
    assigned = {a.course.id for a in assignments}
    started = progress.enrolled_progress(user)  # most recently used first
    resume = next((p for p in started if p.percent < 100 and p.next_module), None)
    if resume is None:  # nothing started yet: the most urgent assignment
        resume = next((a.progress for a in assignments if not a.done), None)
    known = assigned | {p.course.id for p in started}
    return TraineeHome(
        assignments=assignments,
        resume=resume,
        running_labs=running_labs_of(user),
        other_courses=[p for p in started if p.course.id not in assigned],
        suggestions=[c for c in catalog.visible_courses(user) if c.id not in known],
    )
