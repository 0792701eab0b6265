"""What a resource link launch does here: the person it names signs in (matched by the
platform's ``sub``, else by e-mail within the registration's centre, else created), joins
the cohort of the LMS course (created on its first launch), and the launch's target opens.

Who a platform may sign in: people of the centre the registration names, as trainee or
instructor. Accounts of other centres, centre and platform admins are never signed in by
a launch (an LMS, run by someone else, must not vouch for people it does not manage).
A launch never raises a role: a trainee here stays one even if the LMS says Instructor.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from lms.auth import services as accounts
from lms.auth.models import Role, User, utcnow
from lms.catalog.models import Course, Module
from lms.centres.models import Cohort, CohortCourse, CohortMember
from lms.extensions import db
from lms.lti.models import LtiContext, LtiGradeLink, LtiPlatform, LtiScore, LtiUser

ROLES_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
CONTEXT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/context"
CUSTOM_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/custom"
TARGET_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DEEP_LINK_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
# LTI roles (context or institution) that make a new account an instructor.
TEACHING_ROLES = ("#Instructor", "#Administrator", "#ContentDeveloper", "#TeachingAssistant")
LAUNCHABLE_ROLES = (Role.TRAINEE.value, Role.INSTRUCTOR.value)


class LaunchRefused(Exception):
    """A message for the person launching."""


@dataclass(frozen=True)
class Target:
    course: Course | None = None
    module: Module | None = None


def is_teaching(claims: dict) -> bool:
    return any(str(role).endswith(TEACHING_ROLES) for role in claims.get(ROLES_CLAIM) or ())


def account_for(platform: LtiPlatform, claims: dict) -> User:
    """The account the launch signs in to (committed); LaunchRefused says why not."""
    sub = str(claims.get("sub") or "")
    if not sub:
        raise LaunchRefused(
            "The LMS sent an anonymous launch: this tool needs to know who you are."
        )
    link = db.session.scalar(
        select(LtiUser).where(LtiUser.platform_id == platform.id, LtiUser.sub == sub)
    )
    user = db.session.get(User, link.user_id) if link else None
    if user is None:
        user = _by_email_or_new(platform, claims)
        db.session.add(LtiUser(platform_id=platform.id, sub=sub, user_id=user.id))
    if user.centre_id != platform.centre_id or user.role not in LAUNCHABLE_ROLES:
        db.session.rollback()
        raise LaunchRefused(
            f"The account {user.email} is not one {platform.name} may sign in: sign in here "
            "with its password."
        )
    if not user.is_active:
        db.session.rollback()
        raise LaunchRefused("This account is switched off. Ask your centre.")
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def _by_email_or_new(platform: LtiPlatform, claims: dict) -> User:
    email = str(claims.get("email") or "").strip()
    if not email:
        raise LaunchRefused(
            f"{platform.name} did not share your e-mail address; ask its administrator to "
            "share it with this tool."
        )
    user = accounts.find_user_by_email(email)
    if user is not None:
        return user
    role = Role.INSTRUCTOR.value if is_teaching(claims) else Role.TRAINEE.value
    try:
        user = accounts.create_user(
            email,
            None,
            role=role,
            name=str(claims.get("name") or "")[:120],
            centre_id=platform.centre_id,
        )
        db.session.flush()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise LaunchRefused(str(exc)) from exc
    return user


def cohort_for(platform: LtiPlatform, claims: dict) -> Cohort | None:
    """The cohort of the launch's LMS course, made on its first launch (None without a
    context: a launch from outside a course)."""
    context = claims.get(CONTEXT_CLAIM) or {}
    context_id = str(context.get("id") or "")
    if not context_id:
        return None
    row = db.session.scalar(
        select(LtiContext).where(
            LtiContext.platform_id == platform.id, LtiContext.context_id == context_id
        )
    )
    if row is None:
        title = str(context.get("title") or context.get("label") or context_id)[:100]
        cohort = Cohort(centre_id=platform.centre_id, name=f"{title} ({platform.name})"[:120])
        row = LtiContext(platform_id=platform.id, context_id=context_id, title=title, cohort=cohort)
        db.session.add(row)
        db.session.flush()
    return row.cohort


def join(cohort: Cohort, user: User, course: Course | None) -> None:
    """Instructors teach the cohort, trainees are its members; the launched course is
    assigned to the cohort."""
    if user.role == Role.INSTRUCTOR.value:
        if user not in cohort.instructors:
            cohort.instructors.append(user)
    elif not any(m.user_id == user.id for m in cohort.memberships):
        cohort.memberships.append(CohortMember(user_id=user.id))
    if course is not None and not any(c.course_id == course.id for c in cohort.courses):
        cohort.courses.append(CohortCourse(course_id=course.id))


def target_of(claims: dict, tool_host: str) -> Target:
    """What the launch opens: custom parameters ``course`` and ``module`` (slugs), else the
    target link when it is a course or module page of this tool."""
    custom = claims.get(CUSTOM_CLAIM) or {}
    course_slug, module_slug = custom.get("course"), custom.get("module")
    if not course_slug:
        parts = urlsplit(str(claims.get(TARGET_CLAIM) or ""))
        path = [p for p in parts.path.split("/") if p]
        if parts.netloc == tool_host and len(path) in (2, 3) and path[0] == "courses":
            course_slug = path[1]
            module_slug = path[2] if len(path) == 3 else None
    if not course_slug:
        return Target()
    course = db.session.scalar(
        select(Course).where(Course.slug == str(course_slug), Course.is_published)
    )
    if course is None:
        raise LaunchRefused(f"The course '{course_slug}' this link opens is not offered here.")
    if not module_slug:
        return Target(course=course)
    module = next((m for m in course.live_modules if m.slug == str(module_slug)), None)
    if module is None:
        raise LaunchRefused(f"The module '{module_slug}' of {course.title} is not offered here.")
    return Target(course=course, module=module)


def remember_line_item(platform: LtiPlatform, user: User, module: Module, claims: dict) -> None:
    """A trainee's launch of a module with a line item it may score: completing the
    module sends the score there (lms.lti.grades)."""
    ags = claims.get(AGS_CLAIM) or {}
    lineitem = str(ags.get("lineitem") or "")
    scopes = list(ags.get("scope") or ())
    if user.role != Role.TRAINEE.value or not lineitem or SCORE_SCOPE not in scopes:
        return
    link = db.session.scalar(
        select(LtiGradeLink).where(
            LtiGradeLink.user_id == user.id,
            LtiGradeLink.module_id == module.id,
            LtiGradeLink.lineitem_url == lineitem,
        )
    )
    if link is None:
        db.session.add(
            LtiGradeLink(
                platform_id=platform.id,
                user_id=user.id,
                module_id=module.id,
                sub=str(claims["sub"]),
                lineitem_url=lineitem,
                scopes=scopes,
            )
        )
    else:
        link.scopes = scopes


def forget_platform(platform: LtiPlatform) -> None:
    """Delete the registration and what hangs on it (the caller commits). Done here, not
    left to ON DELETE CASCADE: SQLite does not enforce foreign keys, and a new platform
    given the same id must not inherit the old one's people. Cohorts stay."""
    links = select(LtiGradeLink.id).where(LtiGradeLink.platform_id == platform.id)
    db.session.execute(delete(LtiScore).where(LtiScore.grade_link_id.in_(links)))
    for model in (LtiGradeLink, LtiContext, LtiUser):
        db.session.execute(delete(model).where(model.platform_id == platform.id))
    db.session.delete(platform)
