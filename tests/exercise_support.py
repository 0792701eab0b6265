"""Making a team exercise for a test in a few lines (every exercise test builds on it).

    world = make_exercise(app)                      # a draft on team-mini, two teams
    world = make_exercise(app, status="running", teams={"Red": ["t_a1", "t_b1"]})
    client = signed_in(app, world.emails["inst_a"])

The world:

    alpha  <-partners->  beta         gamma (no partners, takes no part)
    cohort A             cohort B     cohort C

People (keys of ``world.users`` / ``world.emails``): ``admin`` (platform admin);
``admin_a`` runs alpha, ``admin_b`` runs beta, ``admin_c`` runs gamma (centre admins);
``inst_a`` teaches A and created the exercise, ``inst_b`` teaches B, ``inst_c`` teaches C;
trainees ``t_a1``..``t_aN`` in A, ``t_b1``..``t_bN`` in B, ``t_c1`` in C (N:
``trainees_per_centre``). Display names are "Trainee a1" etc.; e-mails ``t-a1@example.org``.

The exercise takes cohorts A and B. ``teams`` maps a team name to its members: user keys
(roles given in the lab's role order, cycling) or (key, role) pairs. By default two teams,
each with one trainee of each centre: Red = t_a1, t_b1; Blue = t_a2, t_b2. The lab needs
not exist (roles then default to ``member``); pass ``labs_dir`` to ``exercise_app`` for an
app that knows the fixture team labs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from werkzeug.security import generate_password_hash

from lms import create_app
from lms.extensions import db
from tests.conftest import PASSWORD, ROOT, reset_schema, test_config

FIXTURE_LABS = ROOT / "tests" / "fixtures" / "labs"
TEAM_LAB = "team-mini"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

DEFAULT_TEAMS = {"Red": ["t_a1", "t_b1"], "Blue": ["t_a2", "t_b2"]}


@dataclass
class ExerciseWorld:
    exercise_id: int
    centres: dict[str, int] = field(default_factory=dict)  # alpha/beta/gamma -> id
    cohorts: dict[str, int] = field(default_factory=dict)  # A/B/C -> id
    users: dict[str, int] = field(default_factory=dict)  # key -> id
    emails: dict[str, str] = field(default_factory=dict)  # key -> e-mail
    teams: dict[str, int] = field(default_factory=dict)  # team name -> id

    def url(self, suffix: str = "") -> str:
        return f"/exercises/{self.exercise_id}{suffix}"


def exercise_app(tmp_path: Path, labs_dir: Path | None = FIXTURE_LABS, **overrides):
    """An app on a fresh database whose labs are the fixture labs (team-mini among them)."""
    config = test_config(tmp_path, **overrides)
    if labs_dir is not None:
        config["LMS_LABS_DIR"] = str(labs_dir)
    app = create_app(config)
    with app.app_context():
        reset_schema()
    return app


def email_of(key: str) -> str:
    return f"{key.replace('_', '-')}@example.org"


def make_exercise(
    app,
    lab_slug: str = TEAM_LAB,
    teams: dict[str, list] | None = None,
    *,
    trainees_per_centre: int = 2,
    status: str = "draft",
    title: str = "Compromised web server",
    scoreboard: str = "live",
    duration_minutes: int = 60,
) -> ExerciseWorld:
    """Centres, cohorts, people and an exercise with teams (see the module docstring)."""
    with app.app_context():
        world = _build(
            lab_slug,
            DEFAULT_TEAMS if teams is None else teams,
            trainees_per_centre,
            status,
            title,
            scoreboard,
            duration_minutes,
        )
        db.session.commit()
        return world


def _build(lab_slug, teams, trainees_per_centre, status, title, scoreboard, minutes):
    from lms.auth.models import utcnow
    from lms.centres import services
    from lms.content.lab_library import get_spec
    from lms.exercises.models import Exercise, Team, TeamMember

    world = ExerciseWorld(exercise_id=0)
    alpha = services.create_centre("Alpha Centre", "Estonia", slug="alpha")
    beta = services.create_centre("Beta Centre", "Singapore", slug="beta")
    gamma = services.create_centre("Gamma Centre", "Chile", slug="gamma")
    alpha.partners = [beta]
    beta.partners = [alpha]
    cohorts = {
        "A": services.create_cohort(alpha, "A"),
        "B": services.create_cohort(beta, "B"),
        "C": services.create_cohort(gamma, "C"),
    }
    db.session.flush()
    world.centres = {c.slug: c.id for c in (alpha, beta, gamma)}
    world.cohorts = {key: cohort.id for key, cohort in cohorts.items()}

    def person(key, role, centre=None, name=""):
        user = _user(key, role, centre, name)
        world.users[key] = user.id
        world.emails[key] = user.email
        return user

    person("admin", "platform_admin")
    for key, centre in (("admin_a", alpha), ("admin_b", beta), ("admin_c", gamma)):
        centre.admins.append(person(key, "centre_admin", centre))
    for key, cohort, centre in (
        ("inst_a", "A", alpha),
        ("inst_b", "B", beta),
        ("inst_c", "C", gamma),
    ):
        cohorts[cohort].instructors.append(person(key, "instructor", centre))
    for letter, centre in (("a", alpha), ("b", beta)):
        for n in range(1, trainees_per_centre + 1):
            key = f"t_{letter}{n}"
            trainee = person(key, "trainee", centre, f"Trainee {letter}{n}")
            services.join_cohort(trainee, cohorts[letter.upper()])
    services.join_cohort(person("t_c1", "trainee", gamma, "Trainee c1"), cohorts["C"])

    spec = get_spec(lab_slug)
    roles = [role.name for role in getattr(spec, "roles", ())] or ["member"]
    exercise = Exercise(
        title=title,
        lab_slug=lab_slug,
        created_by_id=world.users["inst_a"],
        status=status,
        duration_minutes=minutes,
        scoreboard=scoreboard,
    )
    exercise.cohorts = [cohorts["A"], cohorts["B"]]
    if status in ("running", "paused", "ended"):
        now = utcnow()
        exercise.started_at = now
        exercise.ends_at = now + timedelta(minutes=minutes)
        if status == "paused":
            exercise.paused_at = now
        if status == "ended":
            exercise.ended_at = now
    db.session.add(exercise)
    db.session.flush()
    world.exercise_id = exercise.id
    for name, members in teams.items():
        team = Team(exercise_id=exercise.id, name=name)
        db.session.add(team)
        db.session.flush()
        world.teams[name] = team.id
        for position, member in enumerate(members):
            key, role = member if isinstance(member, tuple) else (member, None)
            db.session.add(
                TeamMember(
                    team_id=team.id,
                    exercise_id=exercise.id,
                    user_id=world.users[key],
                    role=role or roles[position % len(roles)],
                )
            )
    db.session.flush()
    return world


def _user(key, role, centre, name):
    from lms.auth.services import create_user

    user = create_user(
        email_of(key), None, role=role, name=name or key, centre_id=centre.id if centre else None
    )
    user.password_hash = FAST_HASH
    db.session.flush()
    return user


def signed_in(app, email: str):
    """A test client signed in as ``email``."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client
