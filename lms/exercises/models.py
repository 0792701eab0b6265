"""Team exercises: an exercise run for cohorts (possibly of partner centres), its teams and
members, and everything that happened in it (the timeline the white cell and the
after-action report read).

A team's environment is one lab session (``lms.labs.models.LabSession``) of the exercise's
lab (``mode: team`` in lab.yaml), owned by the team's *anchor*: the member the team's flag
is derived from. Every member opens their own terminal on their role's workstation in it
(``lms.labs.sharing`` tells the terminal who may).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.centres.models import Cohort
from lms.extensions import db
from lms.labs.models import LabSession

# Exercise.status
DRAFT, RUNNING, PAUSED, ENDED = "draft", "running", "paused", "ended"
ACTIVE_STATUSES = (RUNNING, PAUSED)

# Exercise.scoreboard: who sees the team scoreboard
SCOREBOARD_HIDDEN, SCOREBOARD_LIVE, SCOREBOARD_AFTER = "hidden", "live", "after"
SCOREBOARD_CHOICES = (SCOREBOARD_HIDDEN, SCOREBOARD_LIVE, SCOREBOARD_AFTER)

# ExerciseEvent.kind
EVENT_KINDS = (
    "started",  # the exercise started (team None) / a team's environment is running
    "paused",
    "resumed",
    "extended",  # detail: minutes added
    "ended",
    "inject",  # an inject reached a team (inject_id; detail: "timeline" or "by hand")
    "inject-failed",  # its command or file could not be delivered (detail: why)
    "task",  # a team task done (task_id, user_id, points)
    "check-failed",  # a check that did not pass (task_id, user_id, detail: its output)
    "flag-wrong",  # a wrong flag (task_id, user_id)
    "hint",  # a hint revealed (task_id, user_id, points: its penalty)
    "notes",  # the notes pad saved (user_id)
    "lab-failed",  # the team's environment failed to start (detail: why)
)


class Exercise(db.Model):
    """One run of a team exercise lab, for one or more cohorts.

    The exercise clock counts running time only: ``elapsed`` leaves out pauses, and
    injects fire at their ``at`` minute of that clock. ``ends_at`` is the wall-clock end
    (moved by a pause's length on resume, and by extending).
    """

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(160))
    lab_slug: Mapped[str] = mapped_column(String(64), index=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=DRAFT, index=True)
    duration_minutes: Mapped[int] = mapped_column(default=90)
    scoreboard: Mapped[str] = mapped_column(String(16), default=SCOREBOARD_LIVE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]  # set while paused
    paused_seconds: Mapped[int] = mapped_column(default=0)  # pauses before the current one
    ended_at: Mapped[datetime | None]

    created_by: Mapped[User | None] = relationship()
    cohorts: Mapped[list[Cohort]] = relationship(
        secondary="exercise_cohorts", order_by=lambda: Cohort.name
    )
    teams: Mapped[list[Team]] = relationship(
        back_populates="exercise", cascade="all, delete-orphan", order_by=lambda: Team.name
    )

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def elapsed(self, now: datetime | None = None) -> timedelta:
        """Running time on the exercise clock (pauses left out)."""
        if self.started_at is None:
            return timedelta(0)
        until = self.ended_at or self.paused_at or now or utcnow()
        return max(timedelta(0), until - self.started_at - timedelta(seconds=self.paused_seconds))


class ExerciseCohort(db.Model):
    """A cohort taking part: its centre's staff see the exercise, its trainees may be in teams."""

    __tablename__ = "exercise_cohorts"

    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), primary_key=True
    )
    cohort_id: Mapped[int] = mapped_column(
        ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Team(db.Model):
    __tablename__ = "exercise_teams"
    __table_args__ = (UniqueConstraint("exercise_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    # the team's environment (owned by its anchor member); None before the start
    lab_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL")
    )
    notes: Mapped[str] = mapped_column(Text, default="")  # the shared notes pad
    notes_version: Mapped[int] = mapped_column(default=0)  # bumped on every save
    notes_updated_at: Mapped[datetime | None]
    notes_updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    exercise: Mapped[Exercise] = relationship(back_populates="teams")
    lab_session: Mapped[LabSession | None] = relationship()
    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by=lambda: TeamMember.id
    )


class TeamMember(db.Model):
    """A trainee in a team, in one of the lab's roles (lab.yaml ``roles:``)."""

    __tablename__ = "exercise_team_members"
    __table_args__ = (UniqueConstraint("exercise_id", "user_id"),)  # one team per exercise

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_teams.id", ondelete="CASCADE"), index=True
    )
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(30))

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class TeamTaskCompletion(db.Model):
    """A task the team has done (once per team), by whom, for its points."""

    __tablename__ = "exercise_task_completions"
    __table_args__ = (UniqueConstraint("team_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_teams.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    points: Mapped[int] = mapped_column(default=0)
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class InjectDelivery(db.Model):
    """An inject delivered to a team: once per team and inject, by the timeline or by hand.

    The unique constraint is what makes firing idempotent across processes: whoever
    inserts the row delivers the inject; everyone else sees it was done.
    """

    __tablename__ = "exercise_inject_deliveries"
    __table_args__ = (UniqueConstraint("team_id", "inject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    team_id: Mapped[int] = mapped_column(
        ForeignKey("exercise_teams.id", ondelete="CASCADE"), index=True
    )
    inject_id: Mapped[str] = mapped_column(String(64))
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    fired_by_id: Mapped[int | None] = mapped_column(  # None: the timeline
        ForeignKey("users.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | done | failed
    output: Mapped[str] = mapped_column(Text, default="")


class ExerciseEvent(db.Model):
    """One line of the exercise's timeline (commands typed come from the terminal's own
    ``TerminalCommand`` rows of the teams' lab sessions, merged in when read)."""

    __tablename__ = "exercise_events"
    __table_args__ = (Index("ix_exercise_events_timeline", "exercise_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(ForeignKey("exercises.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("exercise_teams.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # EVENT_KINDS
    task_id: Mapped[str | None] = mapped_column(String(64))
    inject_id: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # seconds on the exercise clock when it happened (pauses left out): "time to finding"
    clock_seconds: Mapped[int] = mapped_column(default=0)

    user: Mapped[User | None] = relationship()
