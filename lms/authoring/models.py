"""The change history of courses edited in the browser: who changed what, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.extensions import db


class CourseChange(db.Model):
    """One save, new module or publish of a course folder by a person.

    Keyed by the course folder's slug, not a courses row: a course that was never
    published has no row yet, and its history starts with its first edit."""

    __tablename__ = "course_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_slug: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(120), default="")  # "" for a publish
    action: Mapped[str] = mapped_column(String(16))  # saved | created | published
    # What changed, for people: "+3 −1 lines", or what a publish made live.
    summary: Mapped[str] = mapped_column(String(200), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User | None] = relationship()
