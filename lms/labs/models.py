"""Lab sessions (one per trainee and running lab), task attempts, completions, flag shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.extensions import db

STARTING, RUNNING, STOPPED, FAILED = "starting", "running", "stopped", "failed"
LIVE_STATUSES = (STARTING, RUNNING)

# TaskAttempt.kind
FLAG, CHECK, HINT = "flag", "check", "hint"


class LabSession(db.Model):
    """One start of a lab by a trainee, from "starting" to "stopped" or "failed".

    ``key`` names the session on the container engine (labels, container names).
    """

    __tablename__ = "lab_sessions"
    __table_args__ = (
        # At most one live session per trainee and lab, enforced by the database:
        # two "start" clicks at once cannot both insert one.
        Index(
            "uq_lab_sessions_live",
            "user_id",
            "lab_slug",
            unique=True,
            sqlite_where=text("status IN ('starting', 'running')"),
            postgresql_where=text("status IN ('starting', 'running')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(48), unique=True, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lab_slug: Mapped[str] = mapped_column(String(64), index=True)
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=STARTING, index=True)
    error: Mapped[str | None] = mapped_column(Text)  # shown to the trainee when status is failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # While "starting": the process that queued the start renews this while it is alive;
    # once it lapses, the reaper finishes or fails the start (its process died).
    lease_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(200))  # lms.labs.leases
    # stopped | expired | restarted | admin | vanished | capacity | start-timeout | interrupted
    # | exercise-ended (a team exercise's end stopped it, lms.exercises.lifecycle)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # Where its containers run (lms.labs.nodes.node_name): a swarm's node(s), or the one
    # engine's host ("local"); set when its start or claim completes.
    node: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    def seconds_left(self, now: datetime | None = None) -> int:
        if not self.is_live:
            return 0
        return max(0, int((self.expires_at - (now or utcnow())).total_seconds()))


class TaskAttempt(db.Model):
    """Every flag submitted, check run and hint revealed, for instructors' reports."""

    __tablename__ = "lab_task_attempts"
    __table_args__ = (
        # Rate limits count a trainee's recent attempts in one lab.
        Index("ix_lab_task_attempts_recent", "user_id", "lab_slug", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lab_slug: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # flag | check | hint
    success: Mapped[bool] = mapped_column(default=False)
    output: Mapped[str] = mapped_column(Text, default="")
    # a hint's cost in points when it was revealed (lab.yaml `penalty:`), 0 otherwise
    penalty: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TaskCompletion(db.Model):
    """A task done by a trainee; it stays done across lab sessions."""

    __tablename__ = "lab_task_completions"
    __table_args__ = (UniqueConstraint("user_id", "lab_slug", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lab_slug: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(64))
    points: Mapped[int] = mapped_column(default=0)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlagShare(db.Model):
    """A flag submitted by one trainee that belongs to another: a possible share."""

    __tablename__ = "lab_flag_shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    submitter_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lab_slug: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[str] = mapped_column(String(64), default="")
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    submitter: Mapped[User] = relationship(foreign_keys=[submitter_id])
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
