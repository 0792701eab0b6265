"""Certificates: one per trainee and course completed (or cohort programme completed),
with the signed Open Badges credential issued for it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User, utcnow
from lms.extensions import db

COURSE, PROGRAMME = "course", "programme"


class Certificate(db.Model):
    """What was certified is copied in (title, name, centre) as it read on the day of
    issue: the signed credential says the same, whatever is renamed later."""

    __tablename__ = "certificates"
    # One certificate per trainee and thing achieved: "course:<id>" or "programme:<cohort id>".
    __table_args__ = (UniqueConstraint("user_id", "achievement_key"),)

    # A random UUID: the public verification page is addressed by it, so it must not be
    # guessable from another certificate's.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default=COURSE)
    achievement_key: Mapped[str] = mapped_column(String(40))
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="SET NULL"))
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(300))
    recipient_name: Mapped[str] = mapped_column(String(254))
    centre_name: Mapped[str] = mapped_column(String(160), default="")
    issuer_name: Mapped[str] = mapped_column(String(160))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    credential: Mapped[str] = mapped_column(Text)  # the VC-JWT (compact JWS)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str] = mapped_column(String(500), default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def credential_id(self) -> str:
        return f"urn:uuid:{self.id}"
