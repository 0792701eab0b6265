"""Writing the exercise's timeline: every domain part adds its events through ``add_event``."""

from __future__ import annotations

from lms.auth.models import User, utcnow
from lms.exercises.models import EVENT_KINDS, Exercise, ExerciseEvent, Team
from lms.extensions import db


def add_event(
    exercise: Exercise,
    kind: str,
    *,
    team: Team | None = None,
    user: User | None = None,
    task_id: str | None = None,
    inject_id: str | None = None,
    points: int = 0,
    detail: str = "",
) -> ExerciseEvent:
    """Add one timeline event, stamped now and with the exercise clock (the caller commits)."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown exercise event kind {kind!r}")
    now = utcnow()
    event = ExerciseEvent(
        exercise_id=exercise.id,
        team_id=team.id if team is not None else None,
        user_id=user.id if user is not None else None,
        kind=kind,
        task_id=task_id,
        inject_id=inject_id,
        points=points,
        detail=detail,
        at=now,
        clock_seconds=int(exercise.elapsed(now).total_seconds()),
    )
    db.session.add(event)
    return event
