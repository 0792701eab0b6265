"""Centres, the people who run them, their cohorts and the courses cohorts follow.

Partnerships are directed: a row (A, B) in ``centre_partners`` means centre A
shares its shared courses with centre B. The demo programme declares both
directions; one centre alone can never give itself access to another's courses.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.catalog.models import Course
from lms.extensions import db

centre_admins = Table(
    "centre_admins",
    db.metadata,
    Column("centre_id", ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)

centre_partners = Table(
    "centre_partners",
    db.metadata,
    Column("centre_id", ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "partner_id", ForeignKey("centres.id", ondelete="CASCADE"), primary_key=True, index=True
    ),
)

cohort_instructors = Table(
    "cohort_instructors",
    db.metadata,
    Column("cohort_id", ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Centre(db.Model):
    __tablename__ = "centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(160))
    country: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    admins: Mapped[list[User]] = relationship(secondary=centre_admins, order_by=User.email)
    # Centres this centre shares its shared courses with.
    partners: Mapped[list[Centre]] = relationship(
        secondary=centre_partners,
        primaryjoin=lambda: Centre.id == centre_partners.c.centre_id,
        secondaryjoin=lambda: Centre.id == centre_partners.c.partner_id,
        order_by=lambda: Centre.name,
    )
    cohorts: Mapped[list[Cohort]] = relationship(
        back_populates="centre",
        order_by=lambda: (Cohort.starts_on.desc(), Cohort.name),
        cascade="all, delete-orphan",
    )
    offered_courses: Mapped[list[CentreCourse]] = relationship(
        back_populates="centre", cascade="all, delete-orphan"
    )


class CentreCourse(db.Model):
    """A course a centre offers (it wrote or runs it). A course has at most one such centre;
    a course no centre offers is open to every centre."""

    __tablename__ = "centre_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), unique=True
    )
    shared: Mapped[bool] = mapped_column(default=False)  # partners may assign it to their cohorts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre] = relationship(back_populates="offered_courses")
    course: Mapped[Course] = relationship()


class Cohort(db.Model):
    __tablename__ = "cohorts"
    __table_args__ = (UniqueConstraint("centre_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the cohort's trainees see a points leaderboard (lms.centres.leaderboard); off by default
    leaderboard: Mapped[bool] = mapped_column(default=False, server_default=false())

    centre: Mapped[Centre] = relationship(back_populates="cohorts")
    instructors: Mapped[list[User]] = relationship(
        secondary=cohort_instructors, order_by=User.email
    )
    memberships: Mapped[list[CohortMember]] = relationship(
        back_populates="cohort", cascade="all, delete-orphan"
    )
    courses: Mapped[list[CohortCourse]] = relationship(
        back_populates="cohort",
        cascade="all, delete-orphan",
        order_by=lambda: CohortCourse.assigned_at,
    )

    @property
    def label(self) -> str:
        return f"{self.name} ({self.centre.name})"


class CohortMember(db.Model):
    """A trainee in a cohort. Progress belongs to the trainee, never to the membership,
    so moving between cohorts loses nothing."""

    __tablename__ = "cohort_members"
    __table_args__ = (UniqueConstraint("cohort_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()


class CohortCourse(db.Model):
    """A course assigned to a cohort, with an optional due date."""

    __tablename__ = "cohort_courses"
    __table_args__ = (UniqueConstraint("cohort_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    due_on: Mapped[date | None]
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    cohort: Mapped[Cohort] = relationship(back_populates="courses")
    course: Mapped[Course] = relationship()


class PendingTrainee(db.Model):
    """The name given for someone invited into a cohort, shown until they accept."""

    __tablename__ = "cohort_pending_trainees"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), unique=True
    )
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")


class CalendarFeed(db.Model):
    """The secret behind the address of a trainee's calendar feed of due dates
    (lms.centres.calendar_feed). No row: the address is derived from an empty secret;
    resetting it writes a new random one, and every older address stops working."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    reset_at: Mapped[datetime] = mapped_column(default=utcnow)
