"""The tables of warm lab pools (``lms.labs.pools``): pooled sessions, each lab pool's
health, and the cohorts' schedules.

A pooled session is not a ``LabSession``: it has no trainee until one claims it. The claim
inserts the trainee's ``LabSession`` with the pooled session's key (so the containers,
labelled with that key when they were started, now belong to that session) and marks the
pooled row ``claimed`` in the same transaction. A claimed row never returns to the pool.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.extensions import db

# PoolSession.status: filling -> ready -> claimed; or failed / removed (drained, vanished)
FILLING, READY, CLAIMED, FAILED, REMOVED = "filling", "ready", "claimed", "failed", "removed"
UNCLAIMED = (FILLING, READY)  # on the engine (or about to be), counted against capacity


class PoolSession(db.Model):
    """One pre-started lab session of a pool, from ``filling`` until a trainee claims it."""

    __tablename__ = "lab_pool_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(48), unique=True)  # the engine objects' session key
    lab_slug: Mapped[str] = mapped_column(String(64), index=True)
    # The lab's version it was started from: after a change of the lab, older ones drain.
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=FILLING, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ready_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    # The trainee's session that claimed it (the claim inserts it in the same transaction).
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL"), index=True
    )
    error: Mapped[str | None] = mapped_column(Text)  # why it failed (for administrators)
    node: Mapped[str | None] = mapped_column(String(200))  # where it runs (lms.labs.nodes)


class PoolState(db.Model):
    """A lab pool's health: its last failure and when filling may be tried again.

    Its row is also the pool's lock: a pass that plans fills or drains updates it first,
    so two processes never plan the same lab at once (see ``pools.maintain``).
    """

    __tablename__ = "lab_pool_states"

    lab_slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    error: Mapped[str | None] = mapped_column(Text)  # shown on the admin labs page
    failures: Mapped[int] = mapped_column(default=0)  # fills failed in a row
    retry_after: Mapped[datetime | None]  # no fill before this (backing off)
    planned_at: Mapped[datetime | None]


class PoolSchedule(db.Model):
    """“Lab Y: N ready from T1 to T2” for one cohort (times in UTC)."""

    __tablename__ = "lab_pool_schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    lab_slug: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at
