"""Accounts: creation, sign-in, invitations, tokens, self-registration."""

from __future__ import annotations

from sqlalchemy import select

from lms.auth.models import (
    ApiToken,
    Invitation,
    Role,
    SiteSetting,
    User,
    hash_token,
    normalise_email,
    utcnow,
)
from lms.extensions import db

MIN_PASSWORD_LENGTH = 10
SELF_REGISTRATION_KEY = "self_registration"


class AccountError(ValueError):
    """A problem the person can fix (duplicate email, weak password...)."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_password_strength(password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")


def create_user(
    email: str,
    password: str | None,
    role: str = Role.TRAINEE.value,
    name: str = "",
    centre_id: int | None = None,
) -> User:
    """Add a user; the caller commits. Raises AccountError on a bad or taken address."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError(f"'{email}' is not an email address.")
    if role not in {r.value for r in Role}:
        raise AccountError(
            f"Unknown role '{role}'. Choose one of: {', '.join(r.value for r in Role)}."
        )
    if find_user_by_email(email):
        raise AccountError(f"An account for {email} already exists.")
    user = User(email=email, name=(name or "").strip(), role=role, centre_id=centre_id)
    if password is not None:
        check_password_strength(password)
        user.set_password(password)
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    user = find_user_by_email(email)
    if user is None or not user.is_active or not user.check_password(password):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def user_for_token(plain: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    if token is None or not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    db.session.commit()
    return token.user


def issue_token(user: User, label: str = "") -> str:
    token, plain = ApiToken.issue(user, label)
    db.session.add(token)
    db.session.commit()
    return plain


def invite(email: str, role: str, created_by: User | None = None, days: int = 7, **fields) -> str:
    """Create an invitation and return its plain token (for the link)."""
    email = normalise_email(email)
    if "@" not in email:
        raise AccountError(f"'{email}' is not an email address.")
    if find_user_by_email(email):
        raise AccountError(f"An account for {email} already exists.")
    invitation, plain = Invitation.issue(
        email, role, days=days, created_by_id=created_by.id if created_by else None, **fields
    )
    db.session.add(invitation)
    db.session.commit()
    return plain


def find_invitation(plain: str) -> Invitation | None:
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(plain)))


def accept_invitation(invitation: Invitation, name: str, password: str) -> User:
    if not invitation.is_usable:
        raise AccountError("This invitation has expired or was already used. Ask for a new one.")
    user = create_user(
        invitation.email,
        password,
        role=invitation.role,
        name=name,
        centre_id=invitation.centre_id,
    )
    invitation.used_at = utcnow()
    db.session.flush()
    if invitation.cohort_id:
        _join_cohort(user, invitation.cohort_id)
    db.session.commit()
    return user


def _join_cohort(user: User, cohort_id: int) -> None:
    """Hook for lms.centres: invitations may name a cohort."""
    try:
        from lms.centres.services import add_member_to_cohort
    except ImportError:  # centres not installed
        return
    add_member_to_cohort(user, cohort_id)


def self_registration_open(default: bool = False) -> bool:
    setting = db.session.get(SiteSetting, SELF_REGISTRATION_KEY)
    return default if setting is None else setting.value == "on"


def set_self_registration(open_: bool) -> None:
    setting = db.session.get(SiteSetting, SELF_REGISTRATION_KEY) or SiteSetting(
        key=SELF_REGISTRATION_KEY
    )
    setting.value = "on" if open_ else "off"
    db.session.add(setting)
    db.session.commit()
