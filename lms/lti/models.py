"""LTI 1.3: the LMS platforms registered with this tool, who their users are here, the
cohort each LMS course (context) is tied to, the grade line items launches brought, and
the scores queued for them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import utcnow
from lms.centres.models import Centre, Cohort
from lms.extensions import db


class LtiPlatform(db.Model):
    """One registration: an LMS (issuer) and the client id it gave this tool."""

    __tablename__ = "lti_platforms"
    __table_args__ = (UniqueConstraint("issuer", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str] = mapped_column(String(255), index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    auth_login_url: Mapped[str] = mapped_column(String(500))
    auth_token_url: Mapped[str] = mapped_column(String(500))
    key_set_url: Mapped[str] = mapped_column(String(500))
    # One deployment id a line (Moodle and Canvas show it after the tool is added).
    deployment_ids: Mapped[str] = mapped_column(Text, default="")
    # New people and the cohorts of LMS courses are created in this centre.
    centre_id: Mapped[int] = mapped_column(ForeignKey("centres.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    centre: Mapped[Centre] = relationship()

    @property
    def deployment_list(self) -> list[str]:
        return [line.strip() for line in (self.deployment_ids or "").splitlines() if line.strip()]


class LtiUser(db.Model):
    """The platform's ``sub`` of a person, tied to their account here."""

    __tablename__ = "lti_users"
    __table_args__ = (UniqueConstraint("platform_id", "sub"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LtiContext(db.Model):
    """An LMS course (the launch's context), and the cohort its people are enrolled into."""

    __tablename__ = "lti_contexts"
    __table_args__ = (UniqueConstraint("platform_id", "context_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    context_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(255), default="")
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    cohort: Mapped[Cohort] = relationship()


class LtiGradeLink(db.Model):
    """A module launched with a grade line item (AGS): its score goes there once done."""

    __tablename__ = "lti_grade_links"
    __table_args__ = (UniqueConstraint("user_id", "module_id", "lineitem_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(ForeignKey("lti_platforms.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    sub: Mapped[str] = mapped_column(String(255))
    lineitem_url: Mapped[str] = mapped_column(String(500))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    platform: Mapped[LtiPlatform] = relationship()


class LtiScore(db.Model):
    """A score for a line item: queued when the module is done, ``sent_at`` once the
    platform took it; a failure keeps its reason and is sent again by
    ``lms lti send-scores``."""

    __tablename__ = "lti_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    grade_link_id: Mapped[int] = mapped_column(
        ForeignKey("lti_grade_links.id", ondelete="CASCADE"), index=True
    )
    score: Mapped[float] = mapped_column(default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")

    grade_link: Mapped[LtiGradeLink] = relationship()


class LtiLaunchValue(db.Model):
    """What pylti1p3 keeps between the login initiation and the launch (nonces, state,
    launch data), in the database so that any worker finds it and a nonce is used once."""

    __tablename__ = "lti_launch_values"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict | list | str | bool | None] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
