"""Recording what a trainee did: visits, quiz attempts, completions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from lms.auth.models import User, utcnow
from lms.catalog.models import Course, Module
from lms.database import unavailable_reason
from lms.extensions import db
from lms.progress.models import (
    DONE,
    IN_PROGRESS,
    NOT_STARTED,
    Enrolment,
    ModuleProgress,
)
from lms.progress.quizzes import PASS_MARK, quiz_state, rules_of
from lms.progress.signals import course_completed, module_completed
from lms.xapi import events as xapi

# Reading a module again within this time writes nothing: a page view stays a read.
VISIT_INTERVAL = timedelta(minutes=5)

# Other domains (labs) add conditions a module needs before it counts as done.
# Each returns the list of unmet requirements, in words a trainee understands.
CompletionRule = Callable[[User, Module], list[str]]
completion_rules: list[CompletionRule] = []


@dataclass
class CourseProgress:
    course: Course
    enrolment: Enrolment | None
    statuses: dict[int, str]  # module id -> status
    done: int
    total: int
    records: dict[int, ModuleProgress] = field(default_factory=dict)  # module id -> record

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    def status(self, module: Module) -> str:
        return self.statuses.get(module.id, NOT_STARTED)

    @property
    def next_module(self) -> Module | None:
        modules = self.course.live_modules
        if self.enrolment and self.enrolment.last_module and not self.enrolment.last_module.retired:
            last = self.enrolment.last_module
            if self.status(last) != DONE:
                return last
        return next((m for m in modules if self.status(m) != DONE), modules[0] if modules else None)


def enrolment_for(user: User, course: Course) -> Enrolment | None:
    return db.session.scalar(
        select(Enrolment).where(Enrolment.user_id == user.id, Enrolment.course_id == course.id)
    )


def enrol(user: User, course: Course) -> Enrolment:
    """Start a course (idempotent)."""
    enrolment = enrolment_for(user, course)
    if enrolment is None:
        enrolment = Enrolment(user_id=user.id, course_id=course.id)
        db.session.add(enrolment)
        db.session.commit()
    return enrolment


def module_progress(user: User, module: Module, create: bool = False) -> ModuleProgress | None:
    record = db.session.scalar(
        select(ModuleProgress).where(
            ModuleProgress.user_id == user.id, ModuleProgress.module_id == module.id
        )
    )
    if record is None and create:
        record = ModuleProgress(user_id=user.id, module_id=module.id, status=IN_PROGRESS)
        db.session.add(record)
    return record


def record_visit(user: User, module: Module) -> ModuleProgress:
    """Opening a module enrols in its course, starts the module and remembers the place
    (one commit)."""
    enrolment = enrolment_for(user, module.course)
    if enrolment is None:
        enrolment = Enrolment(user_id=user.id, course_id=module.course.id)
        db.session.add(enrolment)
    enrolment.last_module_id = module.id
    enrolment.last_seen_at = utcnow()
    record = module_progress(user, module, create=True)
    xapi.module_experienced(user, module)
    db.session.commit()
    return record


# Statements of the module page, built once (building one costs more than running it).
_PAGE_RECORDS = (
    select(
        ModuleProgress.module_id,
        ModuleProgress.status,
        ModuleProgress.quiz_score,
        ModuleProgress.quiz_passed,
    )
    .join(Module, Module.id == ModuleProgress.module_id)
    .where(ModuleProgress.user_id == bindparam("user"), Module.course_id == bindparam("course"))
)
_PAGE_ENROLMENT = select(
    Enrolment.id, Enrolment.last_module_id, Enrolment.last_seen_at, Enrolment.completed_at
).where(Enrolment.user_id == bindparam("user"), Enrolment.course_id == bindparam("course"))


def progress_for_page(user: User, course: Course) -> CourseProgress:
    """``course_progress`` read for showing only: rows instead of ORM objects (the
    enrolment and records carry the columns a page shows), two small Core queries."""
    connection = db.session.connection()
    keys = {"user": user.id, "course": course.id}
    ids = {m.id for m in course.live_modules}
    records = [r for r in connection.execute(_PAGE_RECORDS, keys) if r.module_id in ids]
    enrolment = connection.execute(_PAGE_ENROLMENT, keys).first()
    statuses = {r.module_id: r.status for r in records}
    return CourseProgress(
        course,
        enrolment,
        statuses,
        sum(1 for s in statuses.values() if s == DONE),
        len(ids),
        records={r.module_id: r for r in records},
    )


def visit_module(user: User, course: Course, module: Module) -> CourseProgress:
    """The trainee's progress in ``course`` for the module page (``progress_for_page``),
    recording the visit.

    Reading the same module again within VISIT_INTERVAL writes nothing. A visit that
    cannot be written (the database is busy, or a parallel first visit won the insert)
    is skipped: it never costs the trainee the page."""
    progress = progress_for_page(user, course)
    enrolment = progress.enrolment
    recent = utcnow() - VISIT_INTERVAL
    if (
        enrolment is not None
        and module.id in progress.records
        and enrolment.last_module_id == module.id
        and enrolment.last_seen_at > recent
    ):
        return progress
    try:
        record_visit(user, module)
    except DBAPIError as exc:
        if not isinstance(exc, IntegrityError) and unavailable_reason(exc) is None:
            raise
        db.session.rollback()
        current_app.logger.warning("visit of module %s not recorded: %s", module.id, exc.orig)
    return progress_for_page(user, course)


_LOOK_UP = object()


def unmet_requirements(
    user: User, module: Module, record=_LOOK_UP, quiz_met: bool | None = None
) -> list[str]:
    """What is missing before ``module`` counts as done; ``record``, when the caller
    already has the trainee's ModuleProgress (or knows there is none), saves a query, and
    so does ``quiz_met`` when the caller knows whether the quiz is done with."""
    if record is _LOOK_UP:
        record = module_progress(user, module)
    missing = []
    if quiz_met is None and module.quiz and not (record and record.quiz_passed):
        quiz_met = quiz_state(user, module, rules_of(module.course), record).requirement_met
    if module.quiz and not quiz_met and not (record and record.quiz_passed):
        missing.append(f"pass the quiz ({round(PASS_MARK * 100)}% of answers right)")
    for rule in completion_rules:
        missing.extend(rule(user, module))
    return missing


def complete_module(user: User, module: Module) -> list[str]:
    """Mark the module done if nothing is missing; returns what is still missing."""
    missing = unmet_requirements(user, module)
    if missing:
        return missing
    record = module_progress(user, module, create=True)
    newly_done = record.status != DONE
    if newly_done:
        record.status = DONE
        record.completed_at = utcnow()
        xapi.module_completed(user, module)
    enrolment = enrol(user, module.course)
    progress = course_progress(user, module.course)
    completes_course = progress.done == progress.total and enrolment.completed_at is None
    if completes_course:
        enrolment.completed_at = utcnow()
        xapi.course_completed(user, module.course)
    db.session.commit()
    if newly_done:
        module_completed.send(user, module=module)
    if completes_course:
        course_completed.send(user, course=module.course)
    return []


def course_progress(user: User, course: Course) -> CourseProgress:
    modules = course.live_modules
    ids = [m.id for m in modules]
    records = (
        db.session.scalars(
            select(ModuleProgress).where(
                ModuleProgress.user_id == user.id, ModuleProgress.module_id.in_(ids)
            )
        ).all()
        if ids
        else []
    )
    statuses = {r.module_id: r.status for r in records}
    done = sum(1 for s in statuses.values() if s == DONE)
    return CourseProgress(
        course,
        enrolment_for(user, course),
        statuses,
        done,
        len(modules),
        records={r.module_id: r for r in records},
    )


def enrolled_progress(user: User) -> list[CourseProgress]:
    """Progress in every course the user started, most recently used first."""
    enrolments = db.session.scalars(
        select(Enrolment)
        .where(Enrolment.user_id == user.id)
        .order_by(Enrolment.last_seen_at.desc())
    ).all()
    return [course_progress(user, e.course) for e in enrolments if e.course.is_published]
