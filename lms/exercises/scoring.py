"""Team scores: points for tasks done, less the penalties of hints revealed.

The scoreboard ranks teams best first; equal points go to the team that got there first
(its last completion earlier), which rewards speed without a separate time bonus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from lms.auth.models import User
from lms.content.lab_library import get_spec
from lms.exercises.models import (
    ENDED,
    SCOREBOARD_AFTER,
    SCOREBOARD_LIVE,
    Exercise,
    ExerciseEvent,
    Team,
    TeamTaskCompletion,
)
from lms.extensions import db


@dataclass(frozen=True)
class TeamScore:
    team: Team
    points: int  # completion points minus hint penalties
    tasks_done: int
    tasks_total: int
    penalties: int  # the hint penalties taken off (a positive number)
    last_at: datetime | None  # the team's last completion: the tie-break

    @property
    def completion_points(self) -> int:
        return self.points + self.penalties


def team_scores(exercise: Exercise) -> list[TeamScore]:
    """Every team's score, best first; ties broken by the earlier last completion."""
    team_ids = [team.id for team in exercise.teams]
    if not team_ids:
        return []
    done = {
        team_id: (count, points or 0, last_at)
        for team_id, count, points, last_at in db.session.execute(
            select(
                TeamTaskCompletion.team_id,
                func.count(TeamTaskCompletion.id),
                func.sum(TeamTaskCompletion.points),
                func.max(TeamTaskCompletion.completed_at),
            )
            .where(TeamTaskCompletion.team_id.in_(team_ids))
            .group_by(TeamTaskCompletion.team_id)
        )
    }
    penalties = dict(
        db.session.execute(
            select(ExerciseEvent.team_id, func.sum(func.abs(ExerciseEvent.points)))
            .where(ExerciseEvent.exercise_id == exercise.id, ExerciseEvent.kind == "hint")
            .where(ExerciseEvent.team_id.in_(team_ids))
            .group_by(ExerciseEvent.team_id)
        ).all()
    )
    spec = get_spec(exercise.lab_slug)
    tasks_total = len(spec.tasks) if spec is not None else 0
    scores = []
    for team in exercise.teams:
        count, points, last_at = done.get(team.id, (0, 0, None))
        penalty = int(penalties.get(team.id) or 0)
        scores.append(
            TeamScore(
                team=team,
                points=int(points) - penalty,
                tasks_done=int(count),
                tasks_total=max(tasks_total, int(count)),
                penalties=penalty,
                last_at=last_at,
            )
        )
    scores.sort(key=_rank_key)
    return scores


def _rank_key(score: TeamScore) -> tuple:
    # more points first; then whoever got there earlier; teams with nothing done last; by name
    return (
        -score.points,
        score.last_at is None,
        score.last_at or datetime.min,
        score.team.name.lower(),
    )


def scoreboard_visible(exercise: Exercise, user: User | None) -> bool:
    """The white cell always; a member per the exercise's setting; nobody else."""
    from lms.exercises import access  # written alongside; imported late to keep this light

    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if access.can_control(user, exercise):
        return True
    if access.membership(user, exercise) is None:
        return False
    if exercise.scoreboard == SCOREBOARD_LIVE:
        return True
    if exercise.scoreboard == SCOREBOARD_AFTER:
        return exercise.status == ENDED
    return False
