"""The demo data made by `lms demo`: one account per role (password DEMO_PASSWORD),
and a joint programme of two partner centres, a cohort each, and trainees with
some history, so that a newcomer sees the dashboards filled.

Idempotent: running it again completes what is missing and changes nothing else.
A trainee's history is only made if they have none. No lab needs to run: lab
sessions, task attempts and completions are written as records.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import click
import yaml
from flask import current_app
from sqlalchemy import inspect, select, update

from lms.auth.models import Role, User, utcnow
from lms.auth.services import create_user, find_user_by_email
from lms.catalog.models import Course, Module
from lms.centres import services
from lms.centres.models import Centre, CentreCourse, Cohort, CohortMember
from lms.extensions import db
from lms.labs.models import FlagShare, LabSession, TaskAttempt, TaskCompletion
from lms.progress.models import DONE, IN_PROGRESS, Enrolment, ModuleProgress, QuizAttempt

DEMO_PASSWORD = "demo-password"  # noqa: S105 - documented demo accounts
# (email, name, role): one account per role, made by `lms demo`
DEMO_USERS = [
    ("admin@example.org", "Platform Admin", Role.PLATFORM_ADMIN.value),
    ("centre-admin@example.org", "Nadia Centre-Admin", Role.CENTRE_ADMIN.value),
    ("instructor@example.org", "Ivan Instructor", Role.INSTRUCTOR.value),
    ("trainee@example.org", "Tara Trainee", Role.TRAINEE.value),
]

NCTC = ("nctc", "National Cyber Training Centre", "Estonia")
JEC = ("jec-singapore", "Joint Education Centre Singapore", "Singapore")

# (email, name, role, centre slug)
EXTRA_STAFF = [
    ("sg-admin@example.org", "Wei Ling Tan", Role.CENTRE_ADMIN.value, JEC[0]),
    ("sg-instructor@example.org", "Arjun Menon", Role.INSTRUCTOR.value, JEC[0]),
]

# Trainees and how they are doing: fast, steady, slow, stalled, struggling, new.
NCTC_TRAINEES = [
    ("mari.tamm@nctc.example.org", "Mari Tamm", "fast"),
    ("juri.kask@nctc.example.org", "Jüri Kask", "steady"),
    ("kadri.ounapuu@nctc.example.org", "Kadri Õunapuu", "steady"),
    ("andres.magi@nctc.example.org", "Andres Mägi", "stalled"),
    ("liis.saar@nctc.example.org", "Liis Saar", "struggling"),
    ("zoe.muller@nctc.example.org", "Zoë Müller", "fast"),
    ("pierre-etienne.lefevre@nctc.example.org", "Pierre-Étienne Lefèvre", "slow"),
    ("olga.ivanova@nctc.example.org", "Olga Ivanova", "new"),
]
JEC_TRAINEES = [
    ("nur.aisyah@jec.example.org", "Nur Aisyah binti Rahman", "fast"),
    ("lim.junjie@jec.example.org", "Lim Jun Jie", "steady"),
    ("priya.raghavan@jec.example.org", "Priya Raghavan", "steady"),
    ("nguyen.thi.mai@jec.example.org", "Nguyễn Thị Mai", "struggling"),
    ("kenji.watanabe@jec.example.org", "Kenji Watanabe", "slow"),
    ("siti.ismail@jec.example.org", "Siti Nurhaliza Ismail", "stalled"),
    ("chen.xiaoming@jec.example.org", "Chen Xiaoming (陈晓明)", "steady"),
]
# Share of each assigned course's modules done, by profile.
PACE = {"fast": 1.0, "steady": 0.6, "slow": 0.3, "stalled": 0.4, "struggling": 0.35, "new": 0.0}


@dataclass
class CohortPlan:
    centre: tuple[str, str, str]
    name: str
    start_days_ago: int
    length_days: int
    courses: list[tuple[str, int]]  # (course slug, due in N days; negative: overdue)
    trainees: list[tuple[str, str, str]]
    admins: list[str]
    instructors: list[str]


PLANS = [
    CohortPlan(
        NCTC,
        "SOC analysts, intake A",
        30,
        90,
        [("linux-fundamentals", -4), ("web-security-owasp", 40), ("network-traffic-analysis", 60)],
        NCTC_TRAINEES,
        ["centre-admin@example.org"],
        ["instructor@example.org"],
    ),
    CohortPlan(
        JEC,
        "Incident responders, intake 1",
        21,
        75,
        [("linux-fundamentals", 20), ("incident-response", 45)],
        JEC_TRAINEES,
        ["sg-admin@example.org"],
        ["sg-instructor@example.org"],
    ),
]
# Which centre offers which shipped course, and whether it shares it with its partners.
OFFERS = [
    (NCTC[0], "linux-fundamentals", True),
    (NCTC[0], "web-security-owasp", False),
    (NCTC[0], "network-traffic-analysis", True),
    (JEC[0], "incident-response", True),
    (JEC[0], "threat-intel-sharing", True),
    (JEC[0], "windows-ad-detection", True),
]


def create_demo_users() -> None:
    """The accounts of DEMO_USERS (those missing), committed."""
    for email, name, role in DEMO_USERS:
        if find_user_by_email(email) is None:
            create_user(email, DEMO_PASSWORD, role=role, name=name)
    db.session.commit()


def _centre(slug: str, name: str, country: str) -> Centre:
    centre = db.session.scalar(select(Centre).where(Centre.slug == slug))
    if centre is None:
        centre = services.create_centre(name, country, slug=slug)
    return centre


def _user(email: str, name: str, role: str, centre: Centre) -> User:
    user = find_user_by_email(email)
    if user is None:
        user = create_user(email, DEMO_PASSWORD, role=role, name=name, centre_id=centre.id)
        db.session.flush()
    elif user.centre_id is None and not user.is_platform_admin:
        user.centre_id = centre.id
    return user


def create_demo_programme() -> str:
    """Make (or complete) the demo programme and commit; returns a one-line summary."""
    if not inspect(db.engine).has_table(Cohort.__tablename__):
        raise click.ClickException(
            "The database has no cohort tables yet: it needs the Alembic revision that adds "
            "them (flask --app lms db migrate), then `lms init`."
        )
    nctc, jec = _centre(*NCTC), _centre(*JEC)
    for a, b in ((nctc, jec), (jec, nctc)):
        if b not in a.partners:
            a.partners.append(b)
    centres = {c.slug: c for c in (nctc, jec)}
    courses = {c.slug: c for c in db.session.scalars(select(Course))}
    for centre_slug, course_slug, shared in OFFERS:
        course = courses.get(course_slug)
        taken = course and db.session.scalar(
            select(CentreCourse.id).where(CentreCourse.course_id == course.id)
        )
        if course and not taken:
            services.offer_course(centres[centre_slug], course.id, shared=shared)
    for email, name, role, centre_slug in EXTRA_STAFF:
        _user(email, name, role, centres[centre_slug])
    db.session.flush()

    now = utcnow()
    made = 0
    for plan in PLANS:
        centre = centres[plan.centre[0]]
        cohort = db.session.scalar(
            select(Cohort).where(Cohort.centre_id == centre.id, Cohort.name == plan.name)
        ) or services.create_cohort(
            centre,
            plan.name,
            (now - timedelta(days=plan.start_days_ago)).date(),
            (now + timedelta(days=plan.length_days - plan.start_days_ago)).date(),
        )
        for email in plan.admins:
            user = find_user_by_email(email)
            if user and user.role == Role.CENTRE_ADMIN.value and user not in centre.admins:
                centre.admins.append(user)
                user.centre_id = user.centre_id or centre.id
        for email in plan.instructors:
            user = find_user_by_email(email)
            if user and user.role == Role.INSTRUCTOR.value and user not in cohort.instructors:
                cohort.instructors.append(user)
                user.centre_id = user.centre_id or centre.id
        assigned = []
        for slug, due_in in plan.courses:
            if slug in courses and courses[slug].live_modules:
                if slug not in {a.course.slug for a in cohort.courses}:
                    services.assign_course(
                        cohort, courses[slug].id, (now + timedelta(days=due_in)).date()
                    )
                assigned.append(courses[slug])
        people = list(plan.trainees)
        if plan.centre == NCTC:
            people.insert(0, ("trainee@example.org", "Tara Trainee", "new"))
        for index, (email, name, profile) in enumerate(people):
            user = _user(email, name, Role.TRAINEE.value, centre)
            if user.role != Role.TRAINEE.value:
                continue
            if services.join_cohort(user, cohort):
                db.session.flush()
                _backdate_membership(cohort, user, now - timedelta(days=plan.start_days_ago))
            if profile != "new" and not _has_history(user):
                _make_history(user, profile, assigned, random.Random(f"{email}:{index}"), now)
                made += 1
    # A second, future intake at the national centre: somewhere to move trainees to.
    nctc_next = "SOC analysts, intake B"
    if not db.session.scalar(
        select(Cohort.id).where(Cohort.centre_id == nctc.id, Cohort.name == nctc_next)
    ):
        services.create_cohort(
            nctc, nctc_next, (now + timedelta(days=30)).date(), (now + timedelta(days=120)).date()
        )
    db.session.flush()
    _flag_share(now)
    db.session.commit()
    return (
        f"demo programme: {nctc.name} and {jec.name} (partners), "
        f"{len(PLANS) + 1} cohorts, history made for {made} trainee(s)"
    )


def _backdate_membership(cohort: Cohort, user: User, joined_at: datetime) -> None:
    db.session.execute(
        update(CohortMember)
        .where(CohortMember.cohort_id == cohort.id, CohortMember.user_id == user.id)
        .values(joined_at=joined_at)
    )


def _has_history(user: User) -> bool:
    return (
        db.session.scalar(
            select(ModuleProgress.id).where(ModuleProgress.user_id == user.id).limit(1)
        )
        is not None
    )


def _lab_tasks(slug: str) -> list[str]:
    path = Path(current_app.config["LMS_LABS_DIR"]) / slug / "lab.yaml"
    try:
        tasks = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("tasks") or []
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    return [t["id"] for t in tasks if isinstance(t, dict) and t.get("id")]


def _make_history(
    user: User, profile: str, courses: list[Course], rng: random.Random, now: datetime
) -> None:
    """Modules opened and done, quiz attempts, lab work: spread over the last weeks."""
    stalled = profile == "stalled"
    end = now - timedelta(days=rng.uniform(18, 24) if stalled else rng.uniform(0.1, 2.5))
    at = end - timedelta(days=rng.uniform(12, 18))
    for course in courses:
        modules = course.live_modules
        done_count = round(PACE[profile] * len(modules))
        if done_count == 0 and profile != "slow":
            continue
        enrolment = Enrolment(user_id=user.id, course_id=course.id, started_at=at, last_seen_at=end)
        db.session.add(enrolment)
        step = (end - at) / max(1, len(modules) * len(courses))
        for index, module in enumerate(modules[: done_count + 1]):
            done = index < done_count
            at += step
            _module_history(user, module, done, profile, rng, at)
            enrolment.last_module_id = module.id
        if done_count == len(modules):
            enrolment.completed_at = at


def _module_history(user, module: Module, done: bool, profile: str, rng, at: datetime) -> None:
    opened = at - timedelta(hours=rng.uniform(1, 3))
    best = None
    if module.quiz:
        questions = len(module.quiz)
        tries = [rng.randint(max(0, questions - 3), questions - 2)] if rng.random() < 0.3 else []
        if profile == "struggling" and not done:
            tries = [rng.randint(0, max(0, questions - 2)) for _ in range(3)]
        if done:
            tries.append(questions if rng.random() < 0.6 else questions - 1)
        for n, right in enumerate(tries):
            score = right / questions
            passed = score >= 0.8
            db.session.add(
                QuizAttempt(
                    user_id=user.id,
                    module_id=module.id,
                    answers={},
                    score=score,
                    passed=passed,
                    created_at=opened + timedelta(minutes=20 + 7 * n),
                )
            )
            best = max(best or 0.0, score)
    if module.lab_slug and (done or profile == "struggling"):
        minutes = rng.randint(25, 70)
        session = LabSession(
            key=f"demo-{user.id}-{module.id}",
            user_id=user.id,
            lab_slug=module.lab_slug,
            module_id=module.id,
            status="stopped",
            created_at=opened + timedelta(minutes=30),
            started_at=opened + timedelta(minutes=31),
            ended_at=opened + timedelta(minutes=31 + minutes),
            expires_at=opened + timedelta(minutes=91),
            end_reason="stopped",
        )
        db.session.add(session)
        db.session.flush()
        for task in _lab_tasks(module.lab_slug):
            failures = 4 if profile == "struggling" and not done else rng.choice((0, 0, 1, 2))
            for f in range(failures):
                db.session.add(
                    _check_attempt(session, task, False, opened + timedelta(minutes=35 + f))
                )
            if done:
                db.session.add(_check_attempt(session, task, True, opened + timedelta(minutes=45)))
                db.session.add(
                    TaskCompletion(
                        user_id=user.id,
                        lab_slug=module.lab_slug,
                        task_id=task,
                        points=10,
                        session_id=session.id,
                        completed_at=opened + timedelta(minutes=45),
                    )
                )
    db.session.add(
        ModuleProgress(
            user_id=user.id,
            module_id=module.id,
            status=DONE if done else IN_PROGRESS,
            quiz_score=best,
            quiz_passed=bool(best is not None and best >= 0.8),
            first_seen_at=opened,
            updated_at=at,
            completed_at=at if done else None,
        )
    )


def _flag_share(now: datetime) -> None:
    """One possible flag share in the NCTC cohort (a struggling trainee used a fast one's flag)."""
    submitter = find_user_by_email("liis.saar@nctc.example.org")
    owner = find_user_by_email("mari.tamm@nctc.example.org")
    if not submitter or not owner:
        return
    exists = db.session.scalar(select(FlagShare.id).where(FlagShare.submitter_id == submitter.id))
    if exists is None:
        db.session.add(
            FlagShare(
                submitter_id=submitter.id,
                owner_id=owner.id,
                lab_slug="suid-hunt",
                created_at=now - timedelta(days=3),
            )
        )


def _check_attempt(session: LabSession, task: str, success: bool, at) -> TaskAttempt:
    """One demo check of a lab task, as the trainee would have run it."""
    return TaskAttempt(
        session_id=session.id,
        user_id=session.user_id,
        lab_slug=session.lab_slug,
        task_id=task,
        kind="check",
        success=success,
        output="ok" if success else "not yet",
        created_at=at,
    )
