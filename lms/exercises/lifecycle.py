"""An exercise's life: start (each team's environment), pause, resume, extend, end.

Each team's environment is one lab session of the exercise's lab, owned by its anchor
member (``lms.labs.services.start_lab``); it expires 15 minutes after the exercise's end
(``SESSION_GRACE``), and moves with it on extend and resume. Ending the exercise stops
every team's session. A sweep of the reaper (any process) ends exercises whose time is
up. Each action adds a timeline event and an audit record.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update

from lms.auth.models import User, utcnow
from lms.content.lab_library import get_spec
from lms.exercises.access import can_control, can_see_person, team_of_session
from lms.exercises.events import add_event
from lms.exercises.models import (
    ACTIVE_STATUSES,
    DRAFT,
    ENDED,
    PAUSED,
    RUNNING,
    Exercise,
    Team,
    TeamMember,
)
from lms.exercises.teams import _, audit
from lms.extensions import db
from lms.labs import services as lab_services
from lms.labs import sharing
from lms.labs.errors import LabActionError, ServiceUnavailable
from lms.labs.health import engine_health
from lms.labs.models import LIVE_STATUSES, LabSession

log = logging.getLogger(__name__)

# A team's lab outlives the exercise's end by this much (time to copy notes; the end
# stops it anyway, this only guards against an end that never came).
SESSION_GRACE = timedelta(minutes=15)
MAX_EXTEND_MINUTES = 600
END_REASON = "exercise-ended"  # the lab sessions' end_reason


class ExerciseError(Exception):
    """An action refused (not in the right state, nothing to start): a message to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class StartReport:
    started: list[str] = field(default_factory=list)  # team names
    failed: dict[str, str] = field(default_factory=dict)  # team name -> why
    skipped: list[str] = field(default_factory=list)  # teams without members


# -- start -----------------------------------------------------------------------------


def start_exercise(exercise: Exercise, by: User | None) -> StartReport:
    """Start the clock and every team's environment.

    Refused, with nothing written, when the exercise is not a draft, has no team with
    members, or the lab engine is down (ServiceUnavailable with the labs' message). A team
    whose environment cannot start gets a "lab-failed" event and its reason in the report;
    the others still start.
    """
    if exercise.status != DRAFT:
        raise ExerciseError(_("This exercise has already started."))
    spec = get_spec(exercise.lab_slug)
    if spec is None or not spec.is_team:
        raise ExerciseError(
            _("The team lab “%(lab)s” is not on this platform.", lab=exercise.lab_slug)
        )
    teams = [team for team in exercise.teams if team.members]
    if not teams:
        raise ExerciseError(_("Put trainees into at least one team before starting."))
    engine = engine_health()
    if not engine.is_up():
        raise ServiceUnavailable(engine.unavailable_message())

    now = utcnow()
    started = db.session.execute(
        update(Exercise)
        .where(Exercise.id == exercise.id, Exercise.status == DRAFT)
        .values(
            status=RUNNING,
            started_at=now,
            ends_at=now + timedelta(minutes=exercise.duration_minutes),
            paused_at=None,
            paused_seconds=0,
        )
    ).rowcount
    if not started:  # a second click got there first
        db.session.rollback()
        raise ExerciseError(_("This exercise has already started."))
    db.session.refresh(exercise)
    add_event(exercise, "started", user=by)
    audit("exercise.start", exercise, by, {"teams": len(teams)})
    db.session.commit()

    return _start_environments(exercise, by)


def start_missing_environments(exercise: Exercise, by: User | None) -> StartReport:
    """While the exercise runs: start the environment of every team with members and no
    live lab (one that failed to start, or a team formed after the start)."""
    if exercise.status not in ACTIVE_STATUSES:
        raise ExerciseError(_("Only a running or paused exercise has team environments."))
    engine = engine_health()
    if not engine.is_up():
        raise ServiceUnavailable(engine.unavailable_message())
    return _start_environments(exercise, by)


def _start_environments(exercise: Exercise, by: User | None) -> StartReport:
    report = StartReport(skipped=[team.name for team in exercise.teams if not team.members])
    for team in exercise.teams:
        if not team.members or has_live_environment(team):
            continue
        problem = start_team_environment(exercise, team, by)
        if problem is None:
            report.started.append(team.name)
        else:
            report.failed[team.name] = problem
    return report


def has_live_environment(team: Team) -> bool:
    return team.lab_session is not None and team.lab_session.status in LIVE_STATUSES


def start_team_environment(exercise: Exercise, team: Team, by: User | None = None) -> str | None:
    """Start the team's lab session (when it has no live one); None, or why it could not."""
    if has_live_environment(team):
        return None
    anchor = _anchor(team)
    try:
        if anchor is None:
            raise LabActionError(
                _(
                    "Every member of this team has another lab running: one of them must "
                    "stop it before the team's environment can start."
                )
            )
        result = lab_services.start_lab(anchor, exercise.lab_slug, for_team=True)
    except LabActionError as exc:
        db.session.rollback()
        add_event(exercise, "lab-failed", team=team, detail=exc.message)
        audit("exercise.team.lab_failed", exercise, by, {"team": team.name, "why": exc.message})
        db.session.commit()
        return exc.message
    session = result.session
    team.lab_session_id = session.id
    if exercise.ends_at is not None:
        session.expires_at = exercise.ends_at + SESSION_GRACE
    add_event(exercise, "started", team=team, user=anchor)
    db.session.commit()
    return None


def _anchor(team: Team) -> User | None:
    """The member the team's session belongs to: the first with no live lab of their own."""
    busy = set(
        db.session.scalars(
            select(LabSession.user_id).where(
                LabSession.user_id.in_([m.user_id for m in team.members]),
                LabSession.status.in_(LIVE_STATUSES),
            )
        )
    )
    for member in team.members:
        if member.user_id not in busy:
            return member.user
    return None


# -- the clock ---------------------------------------------------------------------------


def pause(exercise: Exercise, by: User | None) -> None:
    """Stop the clock (the labs keep running; the end moves by the pause on resume)."""
    if exercise.status != RUNNING:
        raise ExerciseError(_("Only a running exercise can be paused."))
    exercise.status, exercise.paused_at = PAUSED, utcnow()
    add_event(exercise, "paused", user=by)
    audit("exercise.pause", exercise, by)
    db.session.commit()


def resume(exercise: Exercise, by: User | None) -> None:
    """Run the clock again: the end and the teams' labs' expiry move by the pause."""
    if exercise.status != PAUSED or exercise.paused_at is None:
        raise ExerciseError(_("Only a paused exercise can be resumed."))
    pause_length = utcnow() - exercise.paused_at
    exercise.paused_seconds += int(pause_length.total_seconds())
    exercise.ends_at = (exercise.ends_at or utcnow()) + pause_length
    exercise.status, exercise.paused_at = RUNNING, None
    add_event(exercise, "resumed", user=by, detail=str(int(pause_length.total_seconds())))
    audit("exercise.resume", exercise, by, {"paused_seconds": int(pause_length.total_seconds())})
    _move_session_expiry(exercise)
    db.session.commit()


def extend(exercise: Exercise, minutes: int, by: User | None) -> None:
    """Give the exercise ``minutes`` more (its end and the teams' labs' expiry)."""
    if exercise.status not in ACTIVE_STATUSES or exercise.ends_at is None:
        raise ExerciseError(_("Only a running or paused exercise can be extended."))
    if not 1 <= minutes <= MAX_EXTEND_MINUTES:
        raise ExerciseError(_("Extend by 1 to %(n)d minutes.", n=MAX_EXTEND_MINUTES))
    exercise.ends_at += timedelta(minutes=minutes)
    exercise.duration_minutes += minutes
    add_event(exercise, "extended", user=by, detail=str(minutes))
    audit("exercise.extend", exercise, by, {"minutes": minutes})
    _move_session_expiry(exercise)
    db.session.commit()


def _move_session_expiry(exercise: Exercise, at_least: datetime | None = None) -> None:
    """Every team's live lab expires ``SESSION_GRACE`` after the exercise's end."""
    expires = exercise.ends_at + SESSION_GRACE
    if at_least is not None:
        expires = max(expires, at_least)
    for session in _live_sessions(exercise):
        session.expires_at = expires


def _live_sessions(exercise: Exercise) -> list[LabSession]:
    return list(
        db.session.scalars(
            select(LabSession)
            .join(Team, Team.lab_session_id == LabSession.id)
            .where(Team.exercise_id == exercise.id, LabSession.status.in_(LIVE_STATUSES))
            .order_by(LabSession.id)
        )
    )


# -- the end -----------------------------------------------------------------------------


def end_exercise(exercise: Exercise, by: User | None = None) -> bool:
    """End the exercise and stop every team's lab; False when it had ended already."""
    now = utcnow()
    paused_for = 0
    if exercise.status == PAUSED and exercise.paused_at is not None:
        paused_for = int((now - exercise.paused_at).total_seconds())
    ended = db.session.execute(
        update(Exercise)
        .where(Exercise.id == exercise.id, Exercise.status.in_((DRAFT, *ACTIVE_STATUSES)))
        .values(
            status=ENDED,
            ended_at=now,
            paused_at=None,
            paused_seconds=Exercise.paused_seconds + paused_for,
        )
    ).rowcount
    if not ended:
        db.session.rollback()
        return False
    db.session.refresh(exercise)
    add_event(exercise, "ended", user=by, detail="by hand" if by is not None else "time up")
    audit("exercise.end", exercise, by)
    db.session.commit()
    for session in _live_sessions(exercise):
        lab_services.stop_lab(session, reason=END_REASON)
    return True


def end_exercises_past_their_end() -> list[int]:
    """The reaper's sweep: end running exercises whose time is up; keep paused exercises'
    labs alive (their clock stands still). Returns the ids of the exercises ended."""
    now = utcnow()
    due = list(
        db.session.scalars(
            select(Exercise).where(Exercise.status == RUNNING, Exercise.ends_at <= now)
        )
    )
    ended = [exercise.id for exercise in due if end_exercise(exercise)]
    for exercise in db.session.scalars(select(Exercise).where(Exercise.status == PAUSED)):
        left = (exercise.ends_at or now) - (exercise.paused_at or now)
        _move_session_expiry(exercise, at_least=now + left + SESSION_GRACE)
    db.session.commit()
    if ended:
        log.info("exercises ended (time up): %s", ended)
    return ended


# -- who works in a team's lab ----------------------------------------------------------------


def _member_workstation(user: User, lab_session: LabSession) -> str | None:
    """A team member's terminal opens on their role's workstation in the team's lab."""
    team = team_of_session(lab_session)
    if team is None:
        return None
    member = db.session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user.id)
    )
    spec = get_spec(lab_session.lab_slug)
    if member is None or spec is None:
        return None
    role = spec.role(member.role)
    return role.workstation if role is not None else spec.workstation


def _white_cell_may_watch(viewer: User, lab_session: LabSession, terminal_user: User) -> bool:
    team = team_of_session(lab_session)
    return (
        team is not None
        and can_control(viewer, team.exercise)
        and can_see_person(viewer, terminal_user)
    )


SHARING_RULE = sharing.SharingRule(
    workstation_for=_member_workstation, may_watch=_white_cell_may_watch
)


def _team_session_expiry(session_id: int) -> datetime | None:
    """When a team's lab is marked running, it keeps the exercise's end (plus grace)."""
    ends_at = db.session.scalar(
        select(Exercise.ends_at)
        .join(Team, Team.exercise_id == Exercise.id)
        .where(Team.lab_session_id == session_id, Exercise.status.in_(ACTIVE_STATUSES))
    )
    return ends_at + SESSION_GRACE if ends_at is not None else None


def init_app(app: Flask) -> None:
    from lms.labs import reaper

    sharing.register(SHARING_RULE)
    if end_exercises_past_their_end not in reaper.SWEEPS:
        reaper.SWEEPS.append(end_exercises_past_their_end)
    if _team_session_expiry not in lab_services.expiry_rules:
        lab_services.expiry_rules.append(_team_session_expiry)
