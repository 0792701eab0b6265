"""Who may see and change which centre, cohort and trainee.

The rules, in one place:

- a platform admin: everything;
- a centre admin: the centres they run (the ``centre_admins`` rows, plus their own
  home centre), every cohort of those centres and every trainee in them;
- an instructor: the cohorts they teach and the trainees in them (read only);
- a trainee: their own trainee page.

Views call the ``*_or_abort`` helpers: something that does not exist is a 404,
something that exists but is out of scope is a 403.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import select, union

from lms.auth.models import Role, User
from lms.centres.models import Centre, Cohort, CohortMember, centre_admins, cohort_instructors
from lms.extensions import db


def managed_centre_ids(user: User) -> set[int] | None:
    """Ids of the centres ``user`` runs; ``None`` means every centre (platform admin)."""
    if user.is_platform_admin:
        return None
    if user.role != Role.CENTRE_ADMIN.value:
        return set()
    ids = set(
        db.session.scalars(
            select(centre_admins.c.centre_id).where(centre_admins.c.user_id == user.id)
        )
    )
    if user.centre_id:
        ids.add(user.centre_id)
    return ids


def taught_cohort_ids(user: User) -> set[int]:
    return set(
        db.session.scalars(
            select(cohort_instructors.c.cohort_id).where(cohort_instructors.c.user_id == user.id)
        )
    )


def can_manage_centre(user: User, centre: Centre) -> bool:
    ids = managed_centre_ids(user)
    return ids is None or centre.id in ids


def can_manage_cohort(user: User, cohort: Cohort) -> bool:
    """Change the cohort: its details, members, courses."""
    return can_manage_centre(user, cohort.centre)


def can_view_cohort(user: User, cohort: Cohort) -> bool:
    """See the cohort's dashboard and reports."""
    if can_manage_cohort(user, cohort):
        return True
    return user.role == Role.INSTRUCTOR.value and cohort.id in taught_cohort_ids(user)


def visible_cohort_ids_query(user: User):
    """A SELECT of the ids of cohorts ``user`` may view (``None``: all)."""
    if user.is_platform_admin:
        return None
    parts = [select(cohort_instructors.c.cohort_id).where(cohort_instructors.c.user_id == user.id)]
    centre_ids = managed_centre_ids(user)
    if centre_ids:
        parts.append(select(Cohort.id).where(Cohort.centre_id.in_(centre_ids)))
    return union(*parts) if len(parts) > 1 else parts[0]


def can_view_trainee(user: User, trainee: User) -> bool:
    """A trainee page: the trainee themselves, or staff of a cohort the trainee is in."""
    if user.id == trainee.id or user.is_platform_admin:
        return True
    if not user.is_staff:
        return False
    cohort_ids = visible_cohort_ids_query(user)
    found = db.session.scalar(
        select(CohortMember.id)
        .where(CohortMember.user_id == trainee.id, CohortMember.cohort_id.in_(cohort_ids))
        .limit(1)
    )
    if found is not None:
        return True
    # A centre admin also sees trainees of their centres who are in no cohort yet.
    centre_ids = managed_centre_ids(user) or set()
    return trainee.centre_id in centre_ids and trainee.role == Role.TRAINEE.value


def centre_or_abort(slug: str, user: User) -> Centre:
    centre = db.session.scalar(select(Centre).where(Centre.slug == slug))
    if centre is None:
        abort(404, description="There is no centre at this address.")
    if not can_manage_centre(user, centre):
        abort(403, description="You do not run this centre.")
    return centre


def cohort_or_abort(cohort_id: int, user: User, manage: bool = False) -> Cohort:
    cohort = db.session.get(Cohort, cohort_id)
    if cohort is None:
        abort(404, description="There is no cohort at this address.")
    allowed = can_manage_cohort(user, cohort) if manage else can_view_cohort(user, cohort)
    if not allowed:
        abort(403, description="This cohort is not one of yours.")
    return cohort


def trainee_or_abort(user_id: int, viewer: User) -> User:
    trainee = db.session.get(User, user_id)
    if trainee is None:
        abort(404, description="There is no such person.")
    if not can_view_trainee(viewer, trainee):
        abort(403, description="This person is not in a cohort of yours.")
    return trainee
