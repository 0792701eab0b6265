"""Users, roles, API tokens and invitations."""

from __future__ import annotations

import enum
import hashlib
import secrets
import unicodedata
from datetime import UTC, datetime

from flask_babel import gettext, lazy_gettext
from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from lms.cooperative import off_the_loop
from lms.extensions import db


def utcnow() -> datetime:
    """Naive UTC: SQLite and PostgreSQL then store and compare times the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


class Role(enum.StrEnum):
    TRAINEE = "trainee"
    INSTRUCTOR = "instructor"
    CENTRE_ADMIN = "centre_admin"
    PLATFORM_ADMIN = "platform_admin"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


# The roles' labels, for pybabel to extract (User.role_label translates them).
_ROLE_LABELS = (
    lazy_gettext("Trainee"),
    lazy_gettext("Instructor"),
    lazy_gettext("Centre admin"),
    lazy_gettext("Platform admin"),
)


def normalise_email(email: str) -> str:
    """One person, one account: case, white space and compatibility forms (full-width
    letters, ligatures) never make a new address: NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", (email or "").strip()).casefold()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, index=True)
    # What the address looks like (lms.auth.lookalike): two accounts never look the same.
    email_skeleton: Mapped[str | None] = mapped_column(String(400), index=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(20), default=Role.TRAINEE.value)
    # The centre a person belongs to (their home centre). Centre admins may run more
    # than one centre: see lms.centres.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Part of every session and remember-me cookie (get_id): bumping it signs the user
    # out everywhere (password change, sign-out).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Two-factor sign-in (lms.auth.two_factor): the TOTP secret, set when the person starts
    # enrolling; enabled once they typed a right code. The last time step accepted, so a
    # code seen over someone's shoulder cannot be used again.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]
    # The interface language the person chose (lms.web.i18n.SUPPORTED_LOCALES); None:
    # their browser's preference decides.
    locale: Mapped[str | None] = mapped_column(String(16))

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled account cannot sign in
        return self.is_active_account

    def get_id(self) -> str:
        """Flask-Login keeps this in the session and the remember-me cookie; a cookie made
        before the last ``end_sessions`` no longer matches."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """Sign out every session and remember-me cookie of this user (caller commits)."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def role_label(self) -> str:
        """The role's name in the reader's language (the menu bar shows it)."""
        return gettext(Role(self.role).label)

    def has_role(self, *roles: Role) -> bool:
        return self.role in {r.value for r in roles}

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.PLATFORM_ADMIN.value

    @property
    def is_staff(self) -> bool:
        """Instructors and admins: people who follow others' progress."""
        return self.role != Role.TRAINEE.value

    def set_password(self, password: str) -> None:
        # Hashing takes most of a second on a busy machine: not on the gevent loop.
        self.password_hash = off_the_loop(generate_password_hash, password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and off_the_loop(
            check_password_hash, self.password_hash, password
        )


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")

    @classmethod
    def issue(cls, user: User, label: str = "") -> tuple[ApiToken, str]:
        """A new token for ``user``; the plain value is returned once and never stored."""
        plain = "lms_" + secrets.token_urlsafe(32)
        token = cls(user=user, token_hash=hash_token(plain), label=label)
        return token, plain


class Invitation(db.Model):
    """A single-use sign-up link that expires (made by lms.auth.invitations)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.TRAINEE.value)
    # The name the inviter typed: the invitee's form starts with it (lms.auth.invitations).
    name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id"))
    cohort_id: Mapped[int | None] = mapped_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > utcnow()


class LoginFailure(db.Model):
    """Failed sign-ins counted per account or per client address. In the database so that
    every gunicorn worker sees the same counts (lms.auth.throttle)."""

    __tablename__ = "login_failures"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "account" | "address"
    key: Mapped[str] = mapped_column(String(320), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SiteSetting(db.Model):
    """Settings a platform admin changes in the browser (e.g. self-registration)."""

    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), default="")


class RecoveryCode(db.Model):
    """A single-use code that stands in for a TOTP code (a lost phone). Only its hash is
    stored; the plain codes are shown once, when two-factor sign-in is switched on."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class PasswordReset(db.Model):
    """A single-use, expiring link to choose a new password: mailed to the person, or
    made by a platform admin to hand over. Only its hash is stored."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    @property
    def is_usable(self) -> bool:
        return self.used_at is None and self.expires_at > utcnow()
