"""The queries of the cohort dashboard, one function each.

Each selects plain columns for all the cohort's members at once (through a
sub-select of the membership table, ``members_of``), so the dashboard costs the
same number of queries for five trainees or five thousand. Keep it that way:
no per-trainee query, no lazy relationship loaded in a loop or a template.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from lms.auth.models import User
from lms.catalog.models import Course, Module
from lms.centres.models import Cohort, CohortCourse, CohortMember
from lms.extensions import db
from lms.labs.models import LabSession, TaskAttempt, TaskCompletion
from lms.progress.models import ModuleProgress, QuizAttempt

FAILED_ATTEMPTS = 3  # this many failed flags/checks on one task (or quiz attempts) is "stuck"


def members_of(cohort_id: int):
    """A sub-select of the ids of the cohort's members (no query of its own)."""
    return select(CohortMember.user_id).where(CohortMember.cohort_id == cohort_id).scalar_subquery()


def assigned_courses(cohort: Cohort):
    """(course_id, due_on, slug, title) of the cohort's courses, in assignment order."""
    return db.session.execute(
        select(CohortCourse.course_id, CohortCourse.due_on, Course.slug, Course.title)
        .join(Course, Course.id == CohortCourse.course_id)
        .where(CohortCourse.cohort_id == cohort.id)
        .order_by(CohortCourse.assigned_at, Course.title)
    ).all()


def live_modules(course_ids: list[int]):
    """The live (not retired) modules of the courses, unordered."""
    return db.session.execute(
        select(
            Module.id,
            Module.slug,
            Module.title,
            Module.position,
            Module.course_id,
            Module.lab_slug,
            Module.quiz,
        ).where(Module.course_id.in_(course_ids), Module.retired.is_(False))
    ).all()


def people(cohort_id: int):
    """(id, name, email, joined_at) of the cohort's members, by name."""
    return db.session.execute(
        select(User.id, User.name, User.email, CohortMember.joined_at)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id == cohort_id)
        .order_by(User.name, User.email)
    ).all()


def module_progress(module_ids: list[int], members):
    """(user_id, module_id, status, quiz_score, updated_at, completed_at) rows."""
    return db.session.execute(
        select(
            ModuleProgress.user_id,
            ModuleProgress.module_id,
            ModuleProgress.status,
            ModuleProgress.quiz_score,
            ModuleProgress.updated_at,
            ModuleProgress.completed_at,
        ).where(ModuleProgress.module_id.in_(module_ids), ModuleProgress.user_id.in_(members))
    ).all()


def quiz_attempts(module_ids: list[int], members):
    """(user_id, module_id, failed attempts, latest attempt) per trainee and module."""
    return db.session.execute(
        select(
            QuizAttempt.user_id,
            QuizAttempt.module_id,
            func.sum(case((QuizAttempt.passed.is_(False), 1), else_=0)),
            func.max(QuizAttempt.created_at),
        )
        .where(QuizAttempt.module_id.in_(module_ids), QuizAttempt.user_id.in_(members))
        .group_by(QuizAttempt.user_id, QuizAttempt.module_id)
    ).all()


def tasks_done(lab_slugs: list[str], members) -> dict[tuple[int, str], int]:
    """(user_id, lab slug) -> number of the lab's tasks the trainee completed."""
    return {
        (user_id, lab): n
        for user_id, lab, n in db.session.execute(
            select(TaskCompletion.user_id, TaskCompletion.lab_slug, func.count())
            .where(TaskCompletion.lab_slug.in_(lab_slugs), TaskCompletion.user_id.in_(members))
            .group_by(TaskCompletion.user_id, TaskCompletion.lab_slug)
        )
    }


def failed_tasks(lab_slugs: list[str], members):
    """(user_id, lab, task, failures): FAILED_ATTEMPTS or more failed flags and checks on
    a task still not done."""
    return db.session.execute(
        select(TaskAttempt.user_id, TaskAttempt.lab_slug, TaskAttempt.task_id, func.count())
        .outerjoin(
            TaskCompletion,
            and_(
                TaskCompletion.user_id == TaskAttempt.user_id,
                TaskCompletion.lab_slug == TaskAttempt.lab_slug,
                TaskCompletion.task_id == TaskAttempt.task_id,
            ),
        )
        .where(
            TaskAttempt.user_id.in_(members),
            TaskAttempt.lab_slug.in_(lab_slugs),
            TaskAttempt.kind.in_(("flag", "check")),
            TaskAttempt.success.is_(False),
            TaskCompletion.id.is_(None),
        )
        .group_by(TaskAttempt.user_id, TaskAttempt.lab_slug, TaskAttempt.task_id)
        .having(func.count() >= FAILED_ATTEMPTS)
    ).all()


def latest_task_attempts(members):
    """(user_id, latest flag, check or hint) of each trainee with lab work."""
    return db.session.execute(
        select(TaskAttempt.user_id, func.max(TaskAttempt.created_at))
        .where(TaskAttempt.user_id.in_(members))
        .group_by(TaskAttempt.user_id)
    ).all()


def lab_sessions(members):
    """(user_id, started_at, ended_at, expires_at) of every started lab session."""
    return db.session.execute(
        select(
            LabSession.user_id, LabSession.started_at, LabSession.ended_at, LabSession.expires_at
        ).where(LabSession.user_id.in_(members), LabSession.started_at.isnot(None))
    ).all()


# -- per-trainee and per-module figures, aggregated in SQL (the dashboard page) -----------


def progress_per_course(module_ids: list[int], members):
    """(user_id, course_id, modules done, sum and number of quiz scores, latest update)
    of each trainee and course."""
    return db.session.execute(
        select(
            ModuleProgress.user_id,
            Module.course_id,
            func.sum(case((ModuleProgress.status == "done", 1), else_=0)),
            func.sum(ModuleProgress.quiz_score),
            func.count(ModuleProgress.quiz_score),
            func.max(ModuleProgress.updated_at),
        )
        .join(Module, Module.id == ModuleProgress.module_id)
        .where(ModuleProgress.module_id.in_(module_ids), ModuleProgress.user_id.in_(members))
        .group_by(ModuleProgress.user_id, Module.course_id)
    ).all()


def status_per_module(module_ids: list[int], members):
    """(module_id, status, trainees, sum and number of their quiz scores) over the cohort."""
    return db.session.execute(
        select(
            ModuleProgress.module_id,
            ModuleProgress.status,
            func.count(),
            func.sum(ModuleProgress.quiz_score),
            func.count(ModuleProgress.quiz_score),
        )
        .where(ModuleProgress.module_id.in_(module_ids), ModuleProgress.user_id.in_(members))
        .group_by(ModuleProgress.module_id, ModuleProgress.status)
    ).all()


def completions_per_day(module_ids: list[int], members, since):
    """(day, modules completed) since ``since``, counted by the database (the activity
    chart). The day is a date on PostgreSQL and an ISO date string on SQLite."""
    day = func.date(ModuleProgress.completed_at)
    return db.session.execute(
        select(day, func.count())
        .where(
            ModuleProgress.module_id.in_(module_ids),
            ModuleProgress.user_id.in_(members),
            ModuleProgress.completed_at >= since,
        )
        .group_by(day)
    ).all()


def quiz_activity(module_ids: list[int], members):
    """(user_id, latest quiz attempt) of each trainee."""
    return db.session.execute(
        select(QuizAttempt.user_id, func.max(QuizAttempt.created_at))
        .where(QuizAttempt.module_id.in_(module_ids), QuizAttempt.user_id.in_(members))
        .group_by(QuizAttempt.user_id)
    ).all()


def failed_quizzes(module_ids: list[int], members):
    """(user_id, module_id, failures): FAILED_ATTEMPTS or more failed quiz attempts."""
    failed = func.sum(case((QuizAttempt.passed.is_(False), 1), else_=0))
    return db.session.execute(
        select(QuizAttempt.user_id, QuizAttempt.module_id, failed)
        .where(QuizAttempt.module_id.in_(module_ids), QuizAttempt.user_id.in_(members))
        .group_by(QuizAttempt.user_id, QuizAttempt.module_id)
        .having(failed >= FAILED_ATTEMPTS)
    ).all()
