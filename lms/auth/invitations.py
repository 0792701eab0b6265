"""Invitation links, made the same way wherever someone is invited (the Users page, a
cohort's roster, the API): one validity (``LMS_INVITATION_DAYS``), the name the inviter
typed kept for the invitee's form, and a link that can be copied again later.

The link's token is derived from the secret key and the invitation (an HMAC), and only
its hash is stored, as before: reading the database alone gives no working link, while
the platform can show an open invitation's link again ("Copy link") instead of only
once. Changing the secret key leaves issued links working (their hash is stored) but
they can no longer be shown again: :func:`invitation_link` then returns None.

Mail: :func:`mail_invitation` sends the link when ``LMS_SMTP_URL`` is set (lms.mail).
Nothing here commits: the caller does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app, url_for
from sqlalchemy import select

from lms.auth.models import Invitation, Role, hash_token, normalise_email, utcnow
from lms.extensions import db
from lms.mail import MailError, mail_enabled, send_mail

SUBJECT = "Your invitation to {platform}"
PLATFORM_NAME = "Cyber Range LMS"


def invitation_days() -> int:
    """How many days every invitation link stays valid (``LMS_INVITATION_DAYS``)."""
    return int(current_app.config.get("LMS_INVITATION_DAYS") or 14)


def issue_invitation(
    email: str, role: str, *, name: str = "", created_by_id: int | None = None, **fields
) -> Invitation:
    """A new open invitation (added and flushed, not committed)."""
    now = utcnow()  # part of the token (both databases keep the microseconds)
    invitation = Invitation(
        email=normalise_email(email),
        role=role,
        name=" ".join((name or "").split())[:120],
        created_at=now,
        expires_at=now + timedelta(days=invitation_days()),
        created_by_id=created_by_id,
        token_hash=secrets.token_hex(32),  # replaced below, once the id is known
        **fields,
    )
    db.session.add(invitation)
    db.session.flush()  # the id is part of the token
    invitation.token_hash = hash_token(invitation_token(invitation))
    db.session.flush()
    return invitation


def invitation_token(invitation: Invitation) -> str:
    message = "\0".join(
        (
            "lms-invitation",
            str(invitation.id),
            invitation.email,
            invitation.created_at.isoformat(),
        )
    )
    key = str(current_app.secret_key).encode()
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invitation_link(invitation: Invitation) -> str | None:
    """The invitation's sign-up address, or None if it cannot be shown again (made
    before the secret key changed, or before links could be copied again)."""
    token = invitation_token(invitation)
    if not hmac.compare_digest(hash_token(token), invitation.token_hash):
        return None
    return url_for("auth.accept_invitation", token=token, _external=True)


def open_invitations(**filters) -> list[Invitation]:
    """Invitations not used, cancelled or expired, newest first (``filters``: columns)."""
    query = select(Invitation).where(Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
    for column, value in filters.items():
        query = query.where(getattr(Invitation, column) == value)
    return list(db.session.scalars(query.order_by(Invitation.created_at.desc(), Invitation.id)))


def renew_invitation(invitation: Invitation) -> str:
    """A new link for an open invitation, valid LMS_INVITATION_DAYS days from now; the old
    link stops working (not committed). Returns the new link."""
    now = utcnow()
    invitation.created_at = now  # part of the token: a new token
    invitation.expires_at = now + timedelta(days=invitation_days())
    invitation.token_hash = hash_token(invitation_token(invitation))
    db.session.flush()
    return invitation_link(invitation)


def cancel_invitation(invitation: Invitation) -> None:
    """The link stops working at once (the row stays, for the record)."""
    if invitation.used_at is None:
        invitation.expires_at = utcnow()


def mail_invitation(invitation: Invitation, link: str | None = None) -> str | None:
    """E-mail the link to the invitee when mail is configured.

    Returns None when the mail was sent, else why not (for the inviter, who can copy
    the link instead).
    """
    if not mail_enabled():
        return "e-mail is not configured on this platform"
    link = link or invitation_link(invitation)
    if link is None:
        return "this invitation's link cannot be shown again: make a new one"
    greeting = f"Hello {invitation.name}," if invitation.name else "Hello,"
    role = Role(invitation.role).label.lower()
    body = (
        f"{greeting}\n\n"
        f"You are invited to {PLATFORM_NAME} as {'an' if role[0] in 'aeiou' else 'a'} "
        f"{role}. Open this link to choose your password and sign in:\n\n"
        f"{link}\n\n"
        f"The link works once, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        "If you did not expect this invitation, ignore this message.\n"
    )
    try:
        send_mail(invitation.email, SUBJECT.format(platform=PLATFORM_NAME), body)
    except MailError as error:
        return str(error)
    return None
