"""Enrolments, module progress and quiz attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.catalog.models import Course, Module
from lms.extensions import db

NOT_STARTED, IN_PROGRESS, DONE = "not_started", "in_progress", "done"


class Enrolment(db.Model):
    __tablename__ = "enrolments"
    __table_args__ = (UniqueConstraint("user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_module_id: Mapped[int | None] = mapped_column(
        ForeignKey("modules.id", ondelete="SET NULL")
    )
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()
    course: Mapped[Course] = relationship()
    last_module: Mapped[Module | None] = relationship()


class ModuleProgress(db.Model):
    __tablename__ = "module_progress"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=IN_PROGRESS)
    quiz_score: Mapped[float | None]  # best score, 0..1
    quiz_passed: Mapped[bool] = mapped_column(default=False)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None]

    module: Mapped[Module] = relationship()


class QuizAttempt(db.Model):
    __tablename__ = "quiz_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # {"0": [2], "1": [1, 3]}
    score: Mapped[float]
    passed: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuizPaper(db.Model):
    """The questions drawn for a trainee's coming attempt at a quiz whose course shuffles
    choices or draws questions (``lms.progress.quizzes``): kept until the attempt is
    graded, so a reload shows the same ones. One row per trainee and module."""

    __tablename__ = "quiz_papers"
    __table_args__ = (UniqueConstraint("user_id", "module_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), index=True)
    # [[question index, [choice numbers in the order shown]], ...]
    questions: Mapped[list] = mapped_column(JSON, default=list)
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
