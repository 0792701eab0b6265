"""Accounts: creation, sign-in, invitations, tokens, self-registration."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError

from lms.auth import invitations, lookalike
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
from lms.auth.signals import invitation_accepted
from lms.extensions import db

MIN_PASSWORD_LENGTH = 10
SELF_REGISTRATION_KEY = "self_registration"


class AccountError(ValueError):
    """A problem the person can fix (duplicate email, weak password...)."""


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_new_address(email: str) -> str:
    """The normalised address, if no account has it or one that looks like it; else
    AccountError with the reason."""
    try:
        email = lookalike.checked_address(email)
    except lookalike.AddressError as exc:
        raise AccountError(str(exc)) from None
    if len(email) > 254:
        raise AccountError(f"'{email}' is too long for an email address.")
    if find_user_by_email(email):
        raise AccountError(f"An account for {email} already exists.")
    twin = db.session.scalar(
        select(User.email).where(User.email_skeleton == lookalike.skeleton(email)).limit(1)
    )
    if twin:
        raise AccountError(_look_alike_message(email, twin))
    return email


def look_alike_problems(emails: Iterable[str]) -> dict[str, str]:
    """For many new (normalised) addresses at once, e.g. a roster: why each unusable one
    cannot be used (mixed alphabets, or it looks like an existing account). One query."""
    problems: dict[str, str] = {}
    by_skeleton: dict[str, list[str]] = {}
    for email in emails:
        try:
            lookalike.checked_address(email)
        except lookalike.AddressError as exc:
            problems[email] = str(exc)
        else:
            by_skeleton.setdefault(lookalike.skeleton(email), []).append(email)
    if by_skeleton:
        twins = db.session.execute(
            select(User.email, User.email_skeleton).where(
                User.email_skeleton.in_(list(by_skeleton))
            )
        )
        for existing, shape in twins:
            for email in by_skeleton[shape]:
                if email != existing:
                    problems[email] = _look_alike_message(email, existing)
    return problems


def _look_alike_message(email: str, existing: str) -> str:
    return (
        f"'{email}' looks like the existing account {existing} (letters from another "
        "alphabet, accents or look-alike characters). Use a different address."
    )


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
    if role not in {r.value for r in Role}:
        raise AccountError(
            f"Unknown role '{role}'. Choose one of: {', '.join(r.value for r in Role)}."
        )
    email = check_new_address(email)
    user = User(
        email=email,
        email_skeleton=lookalike.skeleton(email),
        name=(name or "").strip(),
        role=role,
        centre_id=centre_id,
    )
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
    user = token.user
    _note_token_use(token)
    return user


def _note_token_use(token: ApiToken) -> None:
    """Write "last used" at most once per LMS_TOKEN_USE_INTERVAL, and never let a failed
    write (a busy or full database) fail the read it belongs to."""
    now = utcnow()
    interval = timedelta(seconds=current_app.config["LMS_TOKEN_USE_INTERVAL"])
    if token.last_used_at is not None and now - token.last_used_at < interval:
        return
    token_id = token.id
    try:
        db.session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("could not note the use of API token %s: %s", token_id, exc)


def end_sessions(user: User) -> None:
    """Sign ``user`` out of every browser: sessions and remember-me cookies stop matching."""
    user.end_sessions()
    db.session.commit()


def change_password(user: User, password: str, revoke_tokens: bool = False) -> int:
    """Set a new password and end every session of the user; with ``revoke_tokens``, the
    API tokens go too. Returns how many tokens were revoked."""
    check_password_strength(password)
    user.set_password(password)
    user.end_sessions()
    revoked = 0
    if revoke_tokens:
        revoked = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount
    db.session.commit()
    return revoked


def issue_token(user: User, label: str = "") -> str:
    token, plain = ApiToken.issue(user, label)
    db.session.add(token)
    db.session.commit()
    return plain


def invite(email: str, role: str, created_by: User | None = None, name: str = "", **fields) -> str:
    """Create and commit an invitation (lms.auth.invitations: one validity everywhere);
    return its plain token (for the link)."""
    email = check_new_address(email)
    invitation = invitations.issue_invitation(
        email, role, name=name, created_by_id=created_by.id if created_by else None, **fields
    )
    db.session.commit()
    return invitations.invitation_token(invitation)


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
    invitation_accepted.send(user, invitation=invitation)
    db.session.commit()
    return user


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
