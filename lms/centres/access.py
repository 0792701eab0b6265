"""Who may see and change which centre, cohort and trainee.

The rules, in one place:

- a platform admin: everything;
- a centre admin: the centres they run (the ``centre_admins`` rows, plus their own
  home centre), every cohort of those centres and every trainee in them;
- an instructor: the cohorts they teach and the trainees in them (read only);
- a trainee: their own trainee page.

Whose work (progress, lab sessions, recordings, flag shares) a person may see is
one rule, ``visible_trainee_ids``: ``init_app`` registers it with ``lms.auth.visibility``,
which the labs and terminal domains ask (they sit below centres).

Views call the ``*_or_abort`` helpers: something that does not exist is a 404,
something that exists but is out of scope is a 403.
"""

from __future__ import annotations

from flask import abort
from sqlalchemy import and_, or_, select, union
from sqlalchemy.sql import Select

from lms.auth.models import Role, User
from lms.auth.visibility import can_view_trainee  # noqa: F401  (the rule below, asked by id)
from lms.catalog.models import Course
from lms.centres.models import (
    Centre,
    CentreCourse,
    Cohort,
    CohortMember,
    centre_admins,
    centre_partners,
    cohort_instructors,
)
from lms.extensions import db

# Who may open the centre pages (``role_required`` lets platform admins in too).
STAFF = (Role.INSTRUCTOR, Role.CENTRE_ADMIN)
ADMINS = (Role.CENTRE_ADMIN,)


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


def _in_managed_centre(user: User, centre_id):
    """SQL condition: the centre ``centre_id`` (a column) is one the centre admin ``user`` runs."""
    runs = centre_id.in_(
        select(centre_admins.c.centre_id).where(centre_admins.c.user_id == user.id)
    )
    return or_(runs, centre_id == user.centre_id) if user.centre_id else runs


def visible_cohort_ids_query(user: User):
    """A SELECT of the ids of cohorts ``user`` may view (``None``: all)."""
    if user.is_platform_admin:
        return None
    taught = select(cohort_instructors.c.cohort_id).where(cohort_instructors.c.user_id == user.id)
    if user.role != Role.CENTRE_ADMIN.value:
        return taught
    return union(taught, select(Cohort.id).where(_in_managed_centre(user, Cohort.centre_id)))


def visible_trainee_ids(viewer: User) -> Select:
    """A SELECT of the ids of the people whose work ``viewer`` may see (the one rule).

    Everyone sees themselves; a platform admin sees everyone; staff see the members
    of the cohorts they may view, and a centre admin also the trainees of their
    centres who are in no cohort yet. Use it inside a query
    (``LabSession.user_id.in_(visible_trainee_ids(viewer))``) to filter in SQL;
    building it runs no query.
    """
    if viewer.is_platform_admin:
        return select(User.id)
    themselves = select(User.id).where(User.id == viewer.id)
    if not viewer.is_staff:
        return themselves
    cohort_members = select(CohortMember.user_id).where(
        CohortMember.cohort_id.in_(visible_cohort_ids_query(viewer))
    )
    if viewer.role != Role.CENTRE_ADMIN.value:
        return union(themselves, cohort_members)
    centre_trainees = select(User.id).where(
        _in_managed_centre(viewer, User.centre_id), User.role == Role.TRAINEE.value
    )
    return union(themselves, cohort_members, centre_trainees)


def editable_course_slugs(instructor: User) -> set[str]:
    """The courses an instructor may edit in the browser (lms.catalog.editing asks): those
    offered by their centres (their home centre and the centres of the cohorts they
    teach), and the shared courses of centres that share with one of those. A course no
    centre offers is edited by platform admins only."""
    centre_ids = set(
        db.session.scalars(
            select(Cohort.centre_id)
            .join(cohort_instructors, cohort_instructors.c.cohort_id == Cohort.id)
            .where(cohort_instructors.c.user_id == instructor.id)
        )
    )
    if instructor.centre_id:
        centre_ids.add(instructor.centre_id)
    if not centre_ids:
        return set()
    sharing_with_them = select(centre_partners.c.centre_id).where(
        centre_partners.c.partner_id.in_(centre_ids)
    )
    offered = select(Course.slug).join(CentreCourse, CentreCourse.course_id == Course.id)
    return set(
        db.session.scalars(
            offered.where(
                or_(
                    CentreCourse.centre_id.in_(centre_ids),
                    and_(
                        CentreCourse.shared.is_(True), CentreCourse.centre_id.in_(sharing_with_them)
                    ),
                )
            )
        )
    )


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
    if not can_view_trainee(viewer, trainee.id):
        abort(403, description="This person is not in a cohort of yours.")
    return trainee
