"""Centres, partnerships, shared courses, cohorts and their members.

Functions here change the session and leave committing to the caller: the pages
go through ``lms.centres.actions`` (one transaction each); the demo data, the
generator and the roster import commit once for many changes. Invitations are in
``lms.centres.invitations``.
Errors a person can fix raise ``CentreError`` with a message to show.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from sqlalchemy import delete, exists, or_, select

from lms.auth.models import Role, User, normalise_email
from lms.auth.services import find_user_by_email
from lms.catalog.models import Course
from lms.centres.access import managed_centre_ids, visible_cohort_ids_query
from lms.centres.models import (
    Centre,
    CentreCourse,
    Cohort,
    CohortCourse,
    CohortMember,
    centre_partners,
)
from lms.extensions import db
from lms.xapi import statements as xapi_statements

EMAIL_RE = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


class CentreError(ValueError):
    """A request that cannot be done as asked; the message says why."""


def role_phrase(user: User) -> str:
    """'an instructor', 'a centre admin'... for messages."""
    label = user.role_label.lower()
    return ("an " if label[0] in "aeiou" else "a ") + label


# -- centres -----------------------------------------------------------------


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:64] or "centre"


def centres_for(user: User) -> list[Centre]:
    """The centres ``user`` runs (every centre for a platform admin), by name."""
    query = select(Centre).order_by(Centre.name)
    ids = managed_centre_ids(user)
    if ids is not None:
        if not ids:
            return []
        query = query.where(Centre.id.in_(ids))
    return list(db.session.scalars(query))


def cohorts_visible_to(user: User) -> list[Cohort]:
    """Every cohort ``user`` may open (managed centres' cohorts, taught cohorts)."""
    query = select(Cohort).join(Centre).order_by(Centre.name, Cohort.name)
    ids = visible_cohort_ids_query(user)
    if ids is not None:
        query = query.where(Cohort.id.in_(ids))
    return list(db.session.scalars(query))


def create_centre(name: str, country: str = "", slug: str | None = None) -> Centre:
    name = (name or "").strip()
    if not name:
        raise CentreError("Give the centre a name.")
    slug = slugify(slug or name)
    if db.session.scalar(select(Centre.id).where(Centre.slug == slug)):
        raise CentreError(
            f"A centre with the address “{slug}” exists already; choose another name."
        )
    centre = Centre(slug=slug, name=name, country=(country or "").strip())
    db.session.add(centre)
    db.session.flush()
    return centre


def update_centre(centre: Centre, name: str, country: str, partner_ids: list[int]) -> None:
    name = (name or "").strip()
    if not name:
        raise CentreError("Give the centre a name.")
    partner_ids = sorted(set(partner_ids) - {centre.id})
    partners = list(db.session.scalars(select(Centre).where(Centre.id.in_(partner_ids))))
    if len(partners) != len(partner_ids):
        raise CentreError("One of the partner centres does not exist any more.")
    centre.name, centre.country = name, (country or "").strip()
    centre.partners = partners


def other_centres(centre: Centre) -> list[Centre]:
    """Every centre but ``centre``, by name (the partners it may choose)."""
    return list(
        db.session.scalars(select(Centre).where(Centre.id != centre.id).order_by(Centre.name))
    )


def centres_partnering_with(centre: Centre) -> list[Centre]:
    """Centres that share their courses with ``centre``."""
    return list(
        db.session.scalars(
            select(Centre)
            .join(centre_partners, centre_partners.c.centre_id == Centre.id)
            .where(centre_partners.c.partner_id == centre.id)
            .order_by(Centre.name)
        )
    )


def add_centre_admin(centre: Centre, email: str) -> User:
    user = find_user_by_email(email)
    if user is None:
        raise CentreError(
            f"There is no account for {normalise_email(email)}. Create or invite it first."
        )
    if user.role != Role.CENTRE_ADMIN.value:
        raise CentreError(f"{user.email} is {role_phrase(user)}, not a centre admin.")
    if user not in centre.admins:
        centre.admins.append(user)
    return user


def remove_centre_admin(centre: Centre, user_id: int) -> None:
    centre.admins = [u for u in centre.admins if u.id != user_id]


# -- courses a centre offers and shares ---------------------------------------


def assignable_courses(centre: Centre) -> list[Course]:
    """Published courses ``centre`` may assign to its cohorts: courses no centre offers,
    its own, and those its partners share with it."""
    sharing_centres = select(centre_partners.c.centre_id).where(
        centre_partners.c.partner_id == centre.id
    )
    offered_by_any = exists().where(CentreCourse.course_id == Course.id)
    allowed = exists().where(
        CentreCourse.course_id == Course.id,
        or_(
            CentreCourse.centre_id == centre.id,
            CentreCourse.shared.is_(True) & CentreCourse.centre_id.in_(sharing_centres),
        ),
    )
    return list(
        db.session.scalars(
            select(Course)
            .where(Course.is_published, or_(~offered_by_any, allowed))
            .order_by(Course.title)
        )
    )


def unoffered_courses() -> list[Course]:
    """Published courses that no centre offers yet."""
    taken = select(CentreCourse.course_id)
    return list(
        db.session.scalars(
            select(Course)
            .where(Course.is_published, Course.id.not_in(taken))
            .order_by(Course.title)
        )
    )


def offer_course(centre: Centre, course_id: int, shared: bool = False) -> CentreCourse:
    course = db.session.get(Course, course_id)
    if course is None:
        raise CentreError("That course does not exist.")
    owner = db.session.scalar(select(CentreCourse).where(CentreCourse.course_id == course_id))
    if owner is not None and owner.centre_id != centre.id:
        raise CentreError(f"“{course.title}” is offered by {owner.centre.name} already.")
    if owner is None:
        owner = CentreCourse(centre=centre, course=course, shared=shared)
        db.session.add(owner)
    return owner


def withdraw_course(centre: Centre, course_id: int) -> None:
    db.session.execute(
        delete(CentreCourse).where(
            CentreCourse.centre_id == centre.id, CentreCourse.course_id == course_id
        )
    )


def set_course_shared(centre: Centre, course_id: int, shared: bool) -> CentreCourse:
    """Share a course the centre offers with its partners, or stop. Cohorts that already
    follow it keep it: withdrawing a share never breaks a running cohort."""
    offer = db.session.scalar(
        select(CentreCourse).where(
            CentreCourse.centre_id == centre.id, CentreCourse.course_id == course_id
        )
    )
    if offer is None:
        raise CentreError("This centre does not offer that course.")
    offer.shared = shared
    return offer


# -- cohorts -------------------------------------------------------------------


def _check_dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise CentreError("The cohort cannot end before it starts.")


def _check_cohort_name(centre: Centre, name: str, cohort: Cohort | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise CentreError("Give the cohort a name.")
    clash = db.session.scalar(
        select(Cohort.id).where(Cohort.centre_id == centre.id, Cohort.name == name)
    )
    if clash and (cohort is None or clash != cohort.id):
        raise CentreError(f"{centre.name} has a cohort called “{name}” already.")
    return name


def create_cohort(
    centre: Centre, name: str, starts_on: date | None = None, ends_on: date | None = None
) -> Cohort:
    _check_dates(starts_on, ends_on)
    cohort = Cohort(
        centre=centre, name=_check_cohort_name(centre, name), starts_on=starts_on, ends_on=ends_on
    )
    db.session.add(cohort)
    db.session.flush()
    return cohort


def update_cohort(cohort: Cohort, name: str, starts_on: date | None, ends_on: date | None) -> None:
    _check_dates(starts_on, ends_on)
    cohort.name = _check_cohort_name(cohort.centre, name, cohort)
    cohort.starts_on, cohort.ends_on = starts_on, ends_on


def assign_course(cohort: Cohort, course_id: int, due_on: date | None = None) -> CohortCourse:
    """Assign a course (or change its due date). Only courses the centre may assign."""
    assignment = next((a for a in cohort.courses if a.course_id == course_id), None)
    if assignment is None:
        if course_id not in {c.id for c in assignable_courses(cohort.centre)}:
            raise CentreError(
                "That course is not available to this centre: it is offered by another "
                "centre that does not share it with you."
            )
        assignment = CohortCourse(cohort=cohort, course_id=course_id)
        db.session.add(assignment)
    assignment.due_on = due_on
    return assignment


def unassign_course(cohort: Cohort, course_id: int) -> None:
    cohort.courses = [a for a in cohort.courses if a.course_id != course_id]


def member_ids(cohort: Cohort) -> set[int]:
    return set(
        db.session.scalars(select(CohortMember.user_id).where(CohortMember.cohort_id == cohort.id))
    )


def member(cohort: Cohort, user_id: int) -> User | None:
    """The member ``user_id`` of the cohort, or None if they are not in it."""
    return db.session.scalar(
        select(User)
        .join(CohortMember, CohortMember.user_id == User.id)
        .where(CohortMember.cohort_id == cohort.id, User.id == user_id)
    )


def move_targets(cohort: Cohort, user: User) -> list[Cohort]:
    """The other cohorts ``user`` manages, where they may move a trainee of ``cohort``."""
    query = (
        select(Cohort).join(Centre).where(Cohort.id != cohort.id).order_by(Centre.name, Cohort.name)
    )
    ids = managed_centre_ids(user)
    if ids is not None:
        query = query.where(Cohort.centre_id.in_(ids))
    return list(db.session.scalars(query))


def members(cohort: Cohort) -> list[tuple[User, CohortMember]]:
    return list(
        db.session.execute(
            select(User, CohortMember)
            .join(CohortMember, CohortMember.user_id == User.id)
            .where(CohortMember.cohort_id == cohort.id)
            .order_by(User.name, User.email)
        ).all()
    )


def join_cohort(user: User, cohort: Cohort) -> bool:
    """Make a trainee a member; returns False if they were one already."""
    if user.role != Role.TRAINEE.value:
        raise CentreError(f"{user.email} is {role_phrase(user)}; only trainees join cohorts.")
    already = db.session.scalar(
        select(CohortMember.id).where(
            CohortMember.cohort_id == cohort.id, CohortMember.user_id == user.id
        )
    )
    if already:
        return False
    db.session.add(CohortMember(cohort_id=cohort.id, user_id=user.id))
    if user.centre_id is None:
        user.centre_id = cohort.centre_id
    return True


def remove_member(cohort: Cohort, user_id: int) -> None:
    """Take a trainee out of a cohort. Their progress stays with them."""
    db.session.execute(
        delete(CohortMember).where(
            CohortMember.cohort_id == cohort.id, CohortMember.user_id == user_id
        )
    )


def move_trainee(trainee: User, source: Cohort, target: Cohort) -> None:
    """Move a trainee from one cohort to another. Progress, quiz attempts and lab work
    belong to the trainee, not the cohort, so nothing is lost; the trainee's home
    centre follows the target cohort."""
    if source.id == target.id:
        raise CentreError("Choose a different cohort to move to.")
    if trainee.id not in member_ids(source):
        raise CentreError(f"{trainee.display_name} is not in {source.name}.")
    remove_member(source, trainee.id)
    join_cohort(trainee, target)
    if trainee.centre_id == source.centre_id:
        trainee.centre_id = target.centre_id


def remove_instructor(cohort: Cohort, user_id: int) -> None:
    cohort.instructors = [u for u in cohort.instructors if u.id != user_id]


def xapi_grouping(user_id: int) -> list[dict]:
    """The trainee's cohorts, their centres and the trainee's home centre, as the xAPI
    activities that group their statements (``lms.xapi.events.grouping_rules``)."""
    cohorts = db.session.execute(
        select(Cohort.id, Cohort.name, Centre.slug, Centre.name)
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .join(Centre, Centre.id == Cohort.centre_id)
        .where(CohortMember.user_id == user_id)
        .order_by(Cohort.id)
    ).all()
    home = db.session.execute(
        select(Centre.slug, Centre.name)
        .join(User, User.centre_id == Centre.id)
        .where(User.id == user_id)
    ).first()
    centres = dict.fromkeys([(slug, name) for _id, _name, slug, name in cohorts])
    if home is not None:
        centres[tuple(home)] = None
    activity, url = xapi_statements.activity, xapi_statements.page_url
    return [
        *(activity(url("centres.cohort", cohort_id=id_), name) for id_, name, _, _ in cohorts),
        *(activity(url("centres.centre", slug=slug), name) for slug, name in centres),
    ]
