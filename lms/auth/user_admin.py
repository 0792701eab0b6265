"""What a platform admin does to accounts: find, edit, change the role, deactivate and
reactivate, and the open invitations (cancel, make a new link).

Deactivating ends the account's sessions and revokes its API tokens: a person who is
signed in is signed out on their next request, and a deactivated account cannot sign in
(lms.auth.authenticate) nor be loaded from a session (lms.auth.user_for_session_id).
"""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select

from lms.audit.services import record
from lms.auth import invitations, lookalike
from lms.auth.models import ApiToken, Invitation, Role, User, utcnow
from lms.auth.services import AccountError, check_new_address
from lms.extensions import db

SEARCH_LIMIT = 200  # rows shown at once; the search narrows it down


def search(query: str = "", role: str = "", status: str = "") -> tuple[list[User], int]:
    """Accounts whose email or name contains ``query`` (any case), of ``role`` and
    ``status`` ("active" | "deactivated") when given; the first SEARCH_LIMIT of them by
    email, and how many match in all."""
    conditions = []
    words = (query or "").strip().casefold()
    if words:
        pattern = f"%{_escape_like(words)}%"
        conditions.append(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
    if role in {r.value for r in Role}:
        conditions.append(User.role == role)
    if status == "active":
        conditions.append(User.is_active_account.is_(True))
    elif status == "deactivated":
        conditions.append(User.is_active_account.is_(False))
    total = db.session.scalar(select(func.count()).select_from(User).where(*conditions))
    users = db.session.scalars(
        select(User).where(*conditions).order_by(User.email).limit(SEARCH_LIMIT)
    ).all()
    return list(users), total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _active_admins() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.PLATFORM_ADMIN.value, User.is_active_account.is_(True))
    )


def _keeps_an_admin(user: User) -> None:
    """Refuse a change that would leave the platform without an active platform admin."""
    if user.is_platform_admin and user.is_active_account and _active_admins() <= 1:
        raise AccountError(
            f"{user.email} is the only active platform admin: make someone else one first."
        )


def update_account(user: User, name: str, email: str, role: str) -> list[str]:
    """Change name, address and role (committed); returns what changed, for people."""
    changes = []
    name = (name or "").strip()
    if name != user.name:
        user.name = name
        changes.append("name")
    if role not in {r.value for r in Role}:
        raise AccountError(f"Unknown role '{role}'.")
    if role != user.role:
        _keeps_an_admin(user)
        changes.append(f"role: {Role(user.role).label} → {Role(role).label}")
        user.role = role
    if (email or "").strip() and lookalike.skeleton(email) != user.email_skeleton:
        address = _address_for(user, email)
        user.email, user.email_skeleton = address, lookalike.skeleton(address)
        changes.append("email")
    if changes:
        action = "user.role" if any(c.startswith("role") for c in changes) else "user.edit"
        record(action, user, {"changes": changes}, commit=False)
    db.session.commit()
    return changes


def _address_for(user: User, email: str) -> str:
    """The new address if no other account has it or one like it."""
    original = user.email_skeleton
    user.email_skeleton = None  # the account's own old address is no twin
    try:
        return check_new_address(email)
    finally:
        user.email_skeleton = original


def deactivate(user: User, by: User) -> int:
    """Switch the account off: its sessions end and its API tokens are revoked
    (committed). Returns the number of tokens revoked."""
    if user.id == by.id:
        raise AccountError("You cannot deactivate your own account.")
    _keeps_an_admin(user)
    user.is_active_account = False
    user.end_sessions()
    revoked = db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id)).rowcount
    record("user.deactivate", user, {"api_tokens_revoked": revoked}, actor=by, commit=False)
    db.session.commit()
    return revoked


def reactivate(user: User) -> None:
    user.is_active_account = True
    record("user.reactivate", user, commit=False)
    db.session.commit()


def open_invitations() -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.used_at.is_(None), Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at.desc())
        )
    )


def cancel_invitation(invitation: Invitation) -> None:
    """The link stops working at once (the row goes: nothing refers to an unused one)."""
    record(
        "invitation.cancel",
        f"invitation for {invitation.email}",
        {"role": invitation.role},
        commit=False,
    )
    db.session.delete(invitation)
    db.session.commit()


def renew_invitation_link(invitation: Invitation) -> str:
    """A new link for an open invitation (lms.auth.invitations: valid LMS_INVITATION_DAYS
    from now, and it can be copied again later); the old link stops working. Committed."""
    link = invitations.renew_invitation(invitation)
    record("invitation.renew", f"invitation for {invitation.email}", commit=False)
    db.session.commit()
    return link
