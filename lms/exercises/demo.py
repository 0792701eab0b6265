"""The demo team exercise made by `lms demo` (after the demo programme of lms.centres.demo):
a draft on the shipped ``web-breach`` lab for the two partner centres' cohorts, its teams
mixed across the centres, ready for the demo instructor to start. Nothing when the lab or
the programme is missing; idempotent (an exercise of that title is left as it is)."""

from __future__ import annotations

from sqlalchemy import select

from lms.auth.services import find_user_by_email
from lms.centres.models import Cohort
from lms.content.lab_library import get_spec
from lms.exercises import teams
from lms.exercises.models import Exercise
from lms.extensions import db

DEMO_LAB = "web-breach"
DEMO_TITLE = "Joint drill: compromised web server"
DEMO_INSTRUCTOR = "instructor@example.org"
DEMO_COHORTS = ("SOC analysts, intake A", "Incident responders, intake 1")
DEMO_TEAM_SIZE = 3


def create_demo_exercise() -> str:
    """Make the demo exercise when it is missing; a one-line summary of what happened."""
    spec = get_spec(DEMO_LAB)
    if spec is None or not spec.is_team:
        return f"demo exercise: skipped (no team lab “{DEMO_LAB}”)"
    if db.session.scalar(select(Exercise.id).where(Exercise.title == DEMO_TITLE)):
        return f"demo exercise: “{DEMO_TITLE}” is there already"
    instructor = find_user_by_email(DEMO_INSTRUCTOR)
    cohorts = list(db.session.scalars(select(Cohort).where(Cohort.name.in_(DEMO_COHORTS))))
    if instructor is None or len(cohorts) != len(DEMO_COHORTS):
        return "demo exercise: skipped (the demo programme is missing)"
    exercise = teams.create_exercise(
        instructor, DEMO_TITLE, DEMO_LAB, [cohort.id for cohort in cohorts]
    )
    made = teams.mix_teams(exercise, DEMO_TEAM_SIZE, instructor)
    return (
        f"demo exercise: “{DEMO_TITLE}” on {DEMO_LAB}, {len(made)} teams mixing both centres "
        f"(a draft: {DEMO_INSTRUCTOR} starts it from Exercises)"
    )
