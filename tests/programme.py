"""A small programme of three centres for the centres tests, and a query counter.

The ``programme`` and ``login_as`` fixtures (tests/integration/conftest.py) build
it for a test and sign people of it in.

    alpha  <-partners->  beta        gamma (no partners)
    cohorts a1, a2       cohort b1   cohort c1

People: a platform admin; ``admin_a`` runs alpha (centre_admins row);
``admin_b`` runs beta (home centre only); ``admin_ac`` runs alpha and gamma;
``inst_a1`` teaches a1; ``inst_b1`` teaches b1; trainees ``t_a1``, ``t_a2``,
``t_b1``, ``t_c1`` (one per cohort) and ``t_none`` (alpha, no cohort yet).
Courses: ``demo-course`` (from the fixtures, offered by no centre: open to
all, assigned to a1 and b1), ``alpha-shared`` (alpha, shared),
``alpha-private`` (alpha, not shared), ``gamma-shared`` (gamma, shared, but
gamma has no partners). ``t_a1`` has done the first module of demo-course.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import event
from werkzeug.security import generate_password_hash

from lms.extensions import db
from tests.conftest import PASSWORD

# Hashing eleven passwords with the production work factor takes seconds per test.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

EMAILS = {
    "admin": "admin@example.org",
    "admin_a": "admin-a@example.org",
    "admin_b": "admin-b@example.org",
    "admin_ac": "admin-ac@example.org",
    "inst_a1": "inst-a1@example.org",
    "inst_b1": "inst-b1@example.org",
    "t_a1": "t-a1@example.org",
    "t_a2": "t-a2@example.org",
    "t_b1": "t-b1@example.org",
    "t_c1": "t-c1@example.org",
    "t_none": "t-none@example.org",
}


@dataclass
class Programme:
    centres: dict[str, str] = field(default_factory=dict)  # key -> slug
    cohorts: dict[str, int] = field(default_factory=dict)  # key -> id
    users: dict[str, int] = field(default_factory=dict)  # key -> id
    courses: dict[str, int] = field(default_factory=dict)  # slug -> id
    emails: dict[str, str] = field(default_factory=lambda: dict(EMAILS))


def _course(slug: str, title: str):
    from lms.catalog.models import Course, Module

    course = Course(slug=slug, title=title, summary="A test course.")
    course.modules = [
        Module(slug="one", position=0, title=f"{title}: one", quiz=[]),
        Module(slug="two", position=1, title=f"{title}: two", quiz=[]),
    ]
    db.session.add(course)
    return course


def build_programme() -> Programme:
    from lms.auth.services import create_user
    from lms.catalog.models import Course
    from lms.centres import services
    from lms.centres.models import Centre
    from lms.progress.models import DONE, ModuleProgress

    p = Programme()
    alpha = services.create_centre("Alpha Centre", "Estonia", slug="alpha")
    beta = services.create_centre("Beta Centre", "Singapore", slug="beta")
    gamma = services.create_centre("Gamma Centre", "Chile", slug="gamma")
    alpha.partners = [beta]
    beta.partners = [alpha]
    p.centres = {"alpha": "alpha", "beta": "beta", "gamma": "gamma"}

    a1 = services.create_cohort(alpha, "A1")
    a2 = services.create_cohort(alpha, "A2")
    b1 = services.create_cohort(beta, "B1")
    c1 = services.create_cohort(gamma, "C1")
    p.cohorts = {"a1": a1.id, "a2": a2.id, "b1": b1.id, "c1": c1.id}

    def user(key, role, centre: Centre | None = None, name=""):
        u = create_user(
            EMAILS[key], None, role=role, name=name or key, centre_id=centre.id if centre else None
        )
        u.password_hash = FAST_HASH
        db.session.flush()
        p.users[key] = u.id
        return u

    user("admin", "platform_admin")
    alpha.admins.append(user("admin_a", "centre_admin"))
    user("admin_b", "centre_admin", beta)
    admin_ac = user("admin_ac", "centre_admin")
    alpha.admins.append(admin_ac)
    gamma.admins.append(admin_ac)
    a1.instructors.append(user("inst_a1", "instructor"))
    b1.instructors.append(user("inst_b1", "instructor"))
    for key, cohort in (("t_a1", a1), ("t_a2", a2), ("t_b1", b1), ("t_c1", c1)):
        services.join_cohort(user(key, "trainee", name=f"Trainee {key}"), cohort)
    user("t_none", "trainee", alpha)

    demo = db.session.query(Course).filter_by(slug="demo-course").one()
    for slug, owner, shared in (
        ("alpha-shared", alpha, True),
        ("alpha-private", alpha, False),
        ("gamma-shared", gamma, True),
    ):
        course = _course(slug, slug.replace("-", " ").title())
        db.session.flush()
        services.offer_course(owner, course.id, shared=shared)
    db.session.flush()
    p.courses = {c.slug: c.id for c in db.session.query(Course)}
    from lms.auth.models import utcnow

    services.assign_course(a1, demo.id, (utcnow() - timedelta(days=2)).date())
    services.assign_course(b1, demo.id, None)
    first = demo.live_modules[0]
    db.session.add(
        ModuleProgress(
            user_id=p.users["t_a1"],
            module_id=first.id,
            status=DONE,
            quiz_score=1.0,
            quiz_passed=True,
            completed_at=utcnow(),
        )
    )
    db.session.commit()
    return p


class QueryCounter:
    """Counts the SQL statements sent to the engine while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)
