"""Password resets: a single-use link that expires, mailed to the person or made by a
platform admin to hand over when the platform sends no mail.

Only the link's hash is stored. A new link replaces the person's older ones; using a
link ends every session of the account (as a password change does).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select, update

from lms.auth.models import PasswordReset, User, hash_token, utcnow
from lms.auth.services import (
    AccountError,
    change_password,
    check_password_strength,
    find_user_by_email,
)
from lms.extensions import db
from lms.mail import MailError, mail_enabled, send_mail

# One mail per account in this while, however often the form is sent: the form must
# not be a way to flood someone's inbox.
MAIL_INTERVAL = timedelta(minutes=2)


def lifetime() -> timedelta:
    return timedelta(minutes=current_app.config["LMS_PASSWORD_RESET_MINUTES"])


def issue_link(user: User, created_by: User | None = None) -> str:
    """A new reset token for ``user`` (returned once, plain; committed). Older unused
    links of the user stop working."""
    db.session.execute(
        delete(PasswordReset).where(
            PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None)
        )
    )
    plain = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=hash_token(plain),
            created_by_id=created_by.id if created_by else None,
            expires_at=utcnow() + lifetime(),
        )
    )
    db.session.commit()
    return plain


def _mailed_recently(user: User) -> bool:
    latest = db.session.scalar(
        select(PasswordReset.created_at)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_by_id.is_(None))
        .order_by(PasswordReset.created_at.desc())
        .limit(1)
    )
    return latest is not None and utcnow() - latest < MAIL_INTERVAL


def mail_link(email: str, link_for) -> None:
    """Mail a reset link to the active account ``email``, if there is one.

    Says nothing either way (the page answers the same for every address, so it cannot
    be used to find out who has an account); a mail server that refuses is logged.
    ``link_for(token)`` makes the absolute link."""
    if not mail_enabled():
        raise AccountError("This platform sends no e-mail: ask an administrator.")
    user = find_user_by_email(email)
    if user is None or not user.is_active or _mailed_recently(user):
        return
    token = issue_link(user)
    minutes = current_app.config["LMS_PASSWORD_RESET_MINUTES"]
    try:
        send_mail(
            user.email,
            "Choose a new password",
            f"Hello {user.display_name},\n\n"
            "Someone (we hope you) asked to reset the password of your Cyber Range LMS "
            "account. Open this link to choose a new one:\n\n"
            f"{link_for(token)}\n\n"
            f"The link works once and for {minutes} minutes. If you did not ask, ignore "
            "this message: your password stays as it is.\n",
        )
    except MailError as exc:
        current_app.logger.warning("password reset mail to user %s not sent: %s", user.id, exc)


def find(plain: str) -> PasswordReset | None:
    """The reset behind a link, if it can still be used."""
    reset = db.session.scalar(
        select(PasswordReset).where(PasswordReset.token_hash == hash_token(plain or ""))
    )
    if reset is None or not reset.is_usable:
        return None
    user = db.session.get(User, reset.user_id)
    return reset if user is not None and user.is_active else None


def complete(reset: PasswordReset, password: str) -> User:
    """Set the new password through ``reset`` (once: a second use, even a concurrent
    one, is refused), end every session of the account and commit."""
    check_password_strength(password)
    taken = db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.id == reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if not taken:
        db.session.rollback()
        raise AccountError("This link was already used. Ask for a new one.")
    user = db.session.get(User, reset.user_id)
    change_password(user, password)  # commits
    return user
