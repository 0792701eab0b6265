"""Invitations into a cohort: made for people with no account yet (a roster row, an
instructor by email), listed, renewed and cancelled; and what happens when one is
accepted (lms.auth sends ``invitation_accepted``: the person joins the cohort).

Like ``services``, nothing here commits: the caller does (``actions``, the roster).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import select

from lms.auth import invitations as links
from lms.auth.models import Invitation, Role, User, normalise_email, utcnow
from lms.auth.services import find_user_by_email
from lms.centres.models import Cohort, PendingTrainee
from lms.centres.services import CentreError, join_cohort, role_phrase
from lms.extensions import db


def add_instructor(cohort: Cohort, email: str, invited_by: User) -> NewInvitation | None:
    """Add an instructor by email. For an address with no account, an invitation is made
    and returned (the instructor joins the cohort on accepting it)."""
    email = normalise_email(email)
    user = find_user_by_email(email)
    if user is None:
        return new_invitation(email, Role.INSTRUCTOR.value, cohort, invited_by)
    if user.role != Role.INSTRUCTOR.value:
        raise CentreError(f"{user.email} is {role_phrase(user)}, not an instructor.")
    if user not in cohort.instructors:
        cohort.instructors.append(user)
    return None


@dataclass
class NewInvitation:
    invitation: Invitation
    token: str


def new_invitation(
    email: str, role: str, cohort: Cohort, invited_by: User | None, name: str = ""
) -> NewInvitation:
    """An invitation into ``cohort`` (not committed), valid LMS_INVITATION_DAYS days."""
    invitation = links.issue_invitation(
        email,
        role,
        name=name,
        centre_id=cohort.centre_id,
        cohort_id=cohort.id,
        created_by_id=invited_by.id if invited_by else None,
    )
    token = links.invitation_token(invitation)
    if role == Role.TRAINEE.value:
        db.session.add(PendingTrainee(invitation_id=invitation.id, cohort_id=cohort.id, name=name))
    return NewInvitation(invitation, token)


def invitation_link(new: NewInvitation) -> str:
    return url_for("auth.accept_invitation", token=new.token, _external=True)


def mail_link(new: NewInvitation) -> str | None:
    """E-mail the new invitation when LMS_SMTP_URL is set; None when sent, else why not.
    Call it after the commit: a mailed link must work."""
    return links.mail_invitation(new.invitation, invitation_link(new))


@dataclass
class PendingInvite:
    invitation: Invitation
    name: str
    link: str | None = None  # None: it cannot be shown again (make a new one)


def pending_invitations(cohort: Cohort) -> list[PendingInvite]:
    """Open invitations into the cohort (trainees and instructors), newest first."""
    rows = db.session.execute(
        select(Invitation, PendingTrainee.name)
        .outerjoin(PendingTrainee, PendingTrainee.invitation_id == Invitation.id)
        .where(
            Invitation.cohort_id == cohort.id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    ).all()
    return [
        PendingInvite(invitation, name or invitation.name, links.invitation_link(invitation))
        for invitation, name in rows
    ]


def renew_invitation(cohort: Cohort, invitation_id: int, invited_by: User) -> NewInvitation:
    """A fresh link for an open invitation (the old link stops working)."""
    old = db.session.get(Invitation, invitation_id)
    if old is None or old.cohort_id != cohort.id or old.used_at is not None:
        raise CentreError("That invitation does not exist or was already accepted.")
    if find_user_by_email(old.email):
        raise CentreError(f"{old.email} has an account already.")
    name = (
        db.session.scalar(select(PendingTrainee.name).where(PendingTrainee.invitation_id == old.id))
        or ""
    )
    old.expires_at = utcnow()  # the old link is dead
    return new_invitation(old.email, old.role, cohort, invited_by, name or old.name)


def cancel_invitation(cohort: Cohort, invitation_id: int) -> None:
    old = db.session.get(Invitation, invitation_id)
    if old is not None and old.cohort_id == cohort.id and old.used_at is None:
        old.expires_at = utcnow()


# -- accepting ------------------------------------------------------------------------


def join_invited_cohort(user: User, invitation: Invitation, **_) -> None:
    """On lms.auth's ``invitation_accepted``: if the invitation names a cohort, a
    trainee joins it and an instructor starts teaching it."""
    if invitation.cohort_id is None:
        return
    cohort_id = invitation.cohort_id
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        return  # the cohort was deleted since the invitation was sent
    if user.role == Role.INSTRUCTOR.value:
        if user not in cohort.instructors:
            cohort.instructors.append(user)
        return
    if user.role != Role.TRAINEE.value:
        return
    pending = db.session.scalar(
        select(PendingTrainee)
        .join(Invitation, Invitation.id == PendingTrainee.invitation_id)
        .where(PendingTrainee.cohort_id == cohort_id, Invitation.email == user.email)
        .order_by(PendingTrainee.id.desc())
        .limit(1)
    )
    if pending and pending.name and not user.name:
        user.name = pending.name
    join_cohort(user, cohort)
