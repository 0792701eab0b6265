"""The platform-wide audit log: one row per privileged action."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.extensions import db


def utcnow() -> datetime:
    """Naive UTC, as lms.auth.models.utcnow (audit sits below accounts: it names the
    users table, never imports it)."""
    return datetime.now(UTC).replace(tzinfo=None)


class AuditEvent(db.Model):
    """Who (``actor``, and their address at the time, kept if the account goes) did what
    (``action``, ``target``, ``detail``), when (``at``) and from where (``remote_addr``:
    the client's address, through LMS_TRUSTED_PROXIES).

    ``centre_id`` is the centre the event is about: its centre admins see it.
    ``subject_user_id`` and ``session_id`` name the person and lab session acted on,
    when there is one (watching a terminal, changing an account).
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    action: Mapped[str] = mapped_column(String(80), index=True)
    target: Mapped[str] = mapped_column(String(255), default="", server_default="")
    subject_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL"), index=True
    )
    centre_id: Mapped[int | None] = mapped_column(
        ForeignKey("centres.id", ondelete="SET NULL"), index=True
    )
    detail: Mapped[str] = mapped_column(Text, default="")
    remote_addr: Mapped[str] = mapped_column(String(64), default="")

    actor = relationship("User", foreign_keys=[actor_id])
    subject = relationship("User", foreign_keys=[subject_user_id])

    @property
    def who(self) -> str:
        if self.actor is not None:
            return self.actor.email
        return self.actor_email or "(the system)"
