"""Who may run, see or take part in an exercise.

- the white cell (``can_control``): platform admins, the exercise's creator, and the
  staff who run exercises for one of its cohorts: a centre admin of the cohort's centre,
  an instructor who teaches the cohort (``can_run_for_cohort``). They start, pause,
  extend and end it, fire injects, form teams, and see every team's work;
- a member (``membership``): a trainee in one of its teams sees their team's page;
- a person's details (e-mail, commands, terminal: ``can_see_person``) only for staff who
  may see that trainee anyway (``lms.auth.visibility``): a partner centre's trainees appear
  by display name and centre only;
- nobody else learns the exercise exists: 404.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy import or_, select

from lms.auth.models import User
from lms.auth.visibility import can_view_trainee
from lms.centres.access import can_view_cohort, visible_cohort_ids_query
from lms.exercises.models import Exercise, ExerciseCohort, Team, TeamMember
from lms.extensions import db
from lms.labs.models import LabSession


def can_run_for_cohort(user: User, cohort) -> bool:
    """Whether ``user`` may run exercises for this cohort: its centre's admins (and
    platform admins) and the instructors who teach it."""
    return user.is_authenticated and user.is_staff and can_view_cohort(user, cohort)


def can_control(user: User, exercise: Exercise) -> bool:
    """The white cell: start, pause, extend, end, fire injects, form teams, see all teams."""
    if not user.is_authenticated or not user.is_staff:
        return False
    if user.is_platform_admin or exercise.created_by_id == user.id:
        return True
    return any(can_run_for_cohort(user, cohort) for cohort in exercise.cohorts)


def membership(user: User, exercise: Exercise) -> TeamMember | None:
    """The user's place in the exercise (their team and role), None when they have none."""
    if not user.is_authenticated:
        return None
    return db.session.scalar(
        select(TeamMember).where(
            TeamMember.exercise_id == exercise.id, TeamMember.user_id == user.id
        )
    )


def can_see_person(viewer: User, person: User) -> bool:
    """A person's e-mail, the commands they typed, their terminal: only for staff who may
    see that trainee's work anyway (and the person themselves)."""
    if not viewer.is_authenticated:
        return False
    if viewer.id == person.id or viewer.is_platform_admin:
        return True
    return viewer.is_staff and can_view_trainee(viewer, person.id)


def visible_exercises(user: User) -> list[Exercise]:
    """Staff: the exercises they control; trainees: those they are in. Newest first."""
    if not user.is_authenticated:
        return []
    query = select(Exercise).order_by(Exercise.created_at.desc(), Exercise.id.desc())
    if user.is_staff:
        if not user.is_platform_admin:
            participating = select(ExerciseCohort.exercise_id).where(
                ExerciseCohort.cohort_id.in_(visible_cohort_ids_query(user))
            )
            query = query.where(
                or_(Exercise.created_by_id == user.id, Exercise.id.in_(participating))
            )
    else:
        mine = select(TeamMember.exercise_id).where(TeamMember.user_id == user.id)
        query = query.where(Exercise.id.in_(mine))
    return list(db.session.scalars(query))


def exercise_or_404(exercise_id: int, user: User | None = None) -> Exercise:
    """The exercise if ``user`` (default: the signed-in user) controls it or is in it;
    otherwise 404, so nobody else learns that it exists."""
    user = user if user is not None else current_user
    exercise = db.session.get(Exercise, exercise_id)
    if exercise is None or not (can_control(user, exercise) or membership(user, exercise)):
        abort(404, description="There is no exercise at this address.")
    return exercise


def control_or_abort(exercise_id: int, user: User | None = None) -> Exercise:
    """The exercise for its white cell: 404 for outsiders, 403 for its members."""
    user = user if user is not None else current_user
    exercise = exercise_or_404(exercise_id, user)
    if not can_control(user, exercise):
        abort(403, description="Only the exercise's instructors can do this.")
    return exercise


def team_of_session(lab_session: LabSession) -> Team | None:
    """The team whose environment this lab session is, if any."""
    return db.session.scalar(select(Team).where(Team.lab_session_id == lab_session.id))
