"""Playing an exercise: injects reaching the teams, team grading (checks, flags, hints) and
the shared notes pad.

Engine work (an inject's command or file, a check) runs on lab workers as lab jobs
(``exercise-inject``, ``exercise-check``); requests only queue them. Everything that must
happen once per team (an inject delivered, a task done) is decided by a unique constraint,
so any number of processes may fire or grade at the same time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms.auth.models import User, utcnow
from lms.catalog.rendering import render_inline, render_markdown
from lms.content import lab_library
from lms.content.lab_model import LabSpec, TaskSpec
from lms.database import insert_on_conflict
from lms.exercises.events import add_event
from lms.exercises.models import (
    PAUSED,
    RUNNING,
    Exercise,
    ExerciseEvent,
    InjectDelivery,
    Team,
    TeamTaskCompletion,
)
from lms.extensions import db
from lms.labs import app_runtime, health, jobs
from lms.labs.errors import (
    BadLabRequest,
    LabActionError,
    NotRunning,
    PenaltyNotAccepted,
    ServiceUnavailable,
    TaskUnknown,
    TooManyAttempts,
)
from lms.labs.flags import MAX_FLAG_LENGTH, WRONG_FLAGS_PER_MINUTE, flag_for
from lms.labs.grading import (
    CHECK_QUEUE_SLACK,
    CHECKS_PER_MINUTE,
    OUTPUT_SHOWN,
    run_check_command,
)
from lms.labs.models import RUNNING as SESSION_RUNNING
from lms.labs.models import LabSession
from lms.labs.runtime import EngineUnavailable, LabError, LabNotFound, SecretFile

RATE_WINDOW = timedelta(minutes=1)
NOTES_MAX_CHARS = 20000
NOTES_EVENT_EVERY = timedelta(minutes=1)  # at most one "notes" event per user and minute
INJECT_JOB_ATTEMPTS = 5  # an engine that is down is tried again this many times
DONE, FAILED, PENDING = "done", "failed", "pending"  # InjectDelivery.status


class InjectUnknown(LabActionError):
    status, error = 404, "unknown_inject"


class NotesConflict(LabActionError):
    """A notes save based on an older version: the current text goes back with the refusal."""

    status, error = 409, "notes_conflict"


def init_app(app: Flask) -> None:
    from lms.labs import reaper

    if fire_due_injects not in reaper.SWEEPS:
        reaper.SWEEPS.append(fire_due_injects)


def spec_of(exercise: Exercise) -> LabSpec | None:
    return lab_library.get_spec(exercise.lab_slug)


# -- injects ----------------------------------------------------------------------------------


def fire_inject(
    exercise: Exercise, inject_id: str, team_ids=None, by: User | None = None
) -> list[InjectDelivery]:
    """Deliver the inject to the exercise's teams (``team_ids``: only those), each once.

    Returns the deliveries this call made (teams that had it already are left out). Its
    message shows to the team at once; its command or file goes to a lab worker. Commits.
    """
    spec = spec_of(exercise)
    inject = spec.inject(inject_id) if spec is not None else None
    if inject is None:
        raise InjectUnknown(_("This exercise has no inject “%(id)s”.", id=inject_id))
    wanted = None if team_ids is None else {int(t) for t in team_ids}
    teams = [t for t in exercise.teams if wanted is None or t.id in wanted]
    insert = insert_on_conflict(db.session.get_bind().dialect.name)
    delivered = []
    for team in teams:
        delivery_id = db.session.execute(
            insert(InjectDelivery)
            .values(
                exercise_id=exercise.id,
                team_id=team.id,
                inject_id=inject.id,
                fired_at=utcnow(),
                fired_by_id=by.id if by is not None else None,
                status=PENDING if (inject.run or inject.file) else DONE,
                output="",
            )
            .on_conflict_do_nothing(index_elements=["team_id", "inject_id"])
            .returning(InjectDelivery.id)
        ).scalar()
        if delivery_id is None:  # another process (or an earlier call) delivered it
            continue
        add_event(
            exercise,
            "inject",
            team=team,
            user=by,
            inject_id=inject.id,
            detail="by hand" if by is not None else "timeline",
        )
        if inject.run or inject.file:
            jobs.enqueue(
                "exercise-inject",
                team.lab_session_id,
                payload={"delivery": delivery_id},
                commit=False,
            )
        delivered.append(delivery_id)
    db.session.commit()
    if delivered:
        jobs.wake_workers()
    return [db.session.get(InjectDelivery, d) for d in delivered]


def fire_due_injects(exercise: Exercise | None = None) -> int:
    """Fire every timed inject whose minute came, in running exercises (``exercise``: only
    that one), to each team whose environment runs. Returns the deliveries made."""
    if exercise is not None:
        exercises = [exercise] if exercise.status == RUNNING else []
    else:
        exercises = list(db.session.scalars(select(Exercise).where(Exercise.status == RUNNING)))
    fired = 0
    for ex in exercises:
        spec = spec_of(ex)
        if spec is None:
            continue
        minute = ex.elapsed().total_seconds() / 60
        due = [i for i in spec.injects if i.at_minute is not None and i.at_minute <= minute]
        if not due:
            continue
        rows = db.session.execute(
            select(Team.id, InjectDelivery.inject_id)
            .join(LabSession, LabSession.id == Team.lab_session_id)
            .outerjoin(InjectDelivery, InjectDelivery.team_id == Team.id)
            .where(Team.exercise_id == ex.id, LabSession.status == SESSION_RUNNING)
        ).all()
        have: dict[int, set[str]] = {}
        for team_id, inject_id in rows:
            have.setdefault(team_id, set()).add(inject_id)
        for inject in due:
            missing = [t for t, ids in have.items() if inject.id not in ids]
            if missing:
                fired += len(fire_inject(ex, inject.id, team_ids=missing))
    db.session.commit()
    return fired


def delivered_injects(team: Team) -> list[dict]:
    """The injects the team has received, newest first, their message as safe HTML."""
    spec = spec_of(team.exercise)
    deliveries = db.session.scalars(
        select(InjectDelivery)
        .where(InjectDelivery.team_id == team.id)
        .order_by(InjectDelivery.fired_at.desc(), InjectDelivery.id.desc())
    )
    shown = []
    for delivery in deliveries:
        inject = spec.inject(delivery.inject_id) if spec is not None else None
        shown.append(
            {
                "id": delivery.inject_id,
                "delivery_id": delivery.id,
                "title": inject.title if inject else delivery.inject_id,
                "message_html": _markdown_html(inject.message) if inject else "",
                "fired_at": delivery.fired_at.isoformat(),
                "by_hand": delivery.fired_by_id is not None,
                "status": delivery.status,
                "output": delivery.output,
            }
        )
    return shown


@lru_cache(maxsize=512)
def _markdown_html(text: str) -> str:
    # every member's page asks every few seconds: render each message once per process
    return render_markdown(text).html


@lru_cache(maxsize=1024)
def _inline_html(text: str) -> str:
    return render_inline(text)


def _inject_abandoned(job: jobs.LabJob, final: bool) -> bool:
    """Its worker died: on the last attempt, the delivery is marked failed and the white
    cell's timeline says so (an "inject-failed" event); the job fails as usual."""
    delivery = db.session.get(InjectDelivery, job.payload.get("delivery"))
    if final and delivery is not None and delivery.status == PENDING:
        team = db.session.get(Team, delivery.team_id)
        _settle(delivery, team, FAILED, jobs.WORKER_DIED_MESSAGE)
    return False


@jobs.handler("exercise-inject", max_attempts=INJECT_JOB_ATTEMPTS, abandoned=_inject_abandoned)
def _deliver_inject_job(job: jobs.LabJob) -> None:
    """On a lab worker: write the inject's file, then run its command, in the team's lab."""
    delivery = db.session.get(InjectDelivery, job.payload["delivery"])
    if delivery is None or delivery.status != PENDING:
        return  # gone with its exercise, or settled by an earlier run
    team = db.session.get(Team, delivery.team_id)
    spec = spec_of(team.exercise)
    inject = spec.inject(delivery.inject_id) if spec is not None else None
    session = team.lab_session
    if inject is None:
        return _settle(delivery, team, FAILED, "the lab has no such inject any more")
    if session is None or session.status != SESSION_RUNNING:
        return _settle(delivery, team, FAILED, "the team's environment is not running")
    runtime = app_runtime.lab_runtime()
    output = []
    try:
        if inject.file is not None:
            f = inject.file
            owner = spec.containers[f.container].user if f.container in spec.containers else None
            runtime.write_files(
                session.key,
                [SecretFile(f.container, f.path, f.content.encode(), mode=f.mode, owner=owner)],
            )
            output.append(f"wrote {f.path} in {f.container}")
        if inject.run is not None:
            r = inject.run
            container = spec.containers.get(r.container)
            user = "0" if r.as_root else ((container.user if container else None) or "")
            result = runtime.run_check(session.key, r.container, r.command, r.timeout_seconds, user)
            output.append(result.output.strip()[-OUTPUT_SHOWN:])
            if not result.passed:
                why = (
                    f"timed out after {r.timeout_seconds} s"
                    if result.timed_out
                    else (f"exit code {result.exit_code}")
                )
                output.append(f"(the command failed: {why})")
                return _settle(delivery, team, FAILED, "\n".join(o for o in output if o))
    except EngineUnavailable as exc:
        health.engine_health().mark_failure(exc)
        if job.attempts < job.max_attempts:
            raise jobs.Retry(str(exc), after=10) from exc
        return _settle(delivery, team, FAILED, f"the lab engine was unavailable: {exc}")
    except LabNotFound as exc:
        return _settle(delivery, team, FAILED, f"not delivered: {exc}")
    except LabError as exc:
        return _settle(delivery, team, FAILED, f"not delivered: {exc}")
    _settle(delivery, team, DONE, "\n".join(o for o in output if o))


def _settle(delivery: InjectDelivery, team: Team, status: str, output: str) -> None:
    delivery.status = status
    delivery.output = output
    if status == FAILED:
        add_event(
            team.exercise, "inject-failed", team=team, inject_id=delivery.inject_id, detail=output
        )
    db.session.commit()


# -- team grading -----------------------------------------------------------------------------


def require_playing(team: Team) -> LabSession:
    """The team's running environment, when the exercise runs; else a clear refusal."""
    exercise = team.exercise
    if exercise.status == PAUSED:
        raise NotRunning(_("The exercise is paused."))
    if exercise.status != RUNNING:
        raise NotRunning(
            _("The exercise has ended.")
            if exercise.ended_at is not None
            else _("The exercise has not started yet.")
        )
    session = team.lab_session
    if session is None or session.status != SESSION_RUNNING:
        raise NotRunning(_("Your team's environment is not running yet."))
    return session


def _task(spec: LabSpec | None, task_id: str, kind: str) -> TaskSpec:
    task = spec.task(task_id or "") if spec is not None else None
    if task is None or task.type != kind:
        raise TaskUnknown(_("This exercise has no such task."))
    return task


def _recent_events(team: Team, kind: str) -> tuple[int, object]:
    return db.session.execute(
        select(func.count(ExerciseEvent.id), func.min(ExerciseEvent.at)).where(
            ExerciseEvent.team_id == team.id,
            ExerciseEvent.kind == kind,
            ExerciseEvent.at > utcnow() - RATE_WINDOW,
        )
    ).one()


def _rate_limit(team: Team, kind: str, limit: int, message: str) -> None:
    count, oldest = _recent_events(team, kind)
    if count >= limit:
        wait = max(1, int((oldest + RATE_WINDOW - utcnow()).total_seconds()) + 1)
        raise TooManyAttempts(message % {"seconds": wait}, wait)


@dataclass
class TaskOutcome:
    passed: bool
    message: str
    output: str = ""


def complete_team_task(team: Team, task: TaskSpec, user: User | None) -> bool:
    """Record the task done for the team (once); True when this call did it. Commits."""
    insert = insert_on_conflict(db.session.get_bind().dialect.name)
    done_id = db.session.execute(
        insert(TeamTaskCompletion)
        .values(
            team_id=team.id,
            task_id=task.id,
            user_id=user.id if user is not None else None,
            points=task.points,
            completed_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["team_id", "task_id"])
        .returning(TeamTaskCompletion.id)
    ).scalar()
    if done_id is not None:
        add_event(team.exercise, "task", team=team, user=user, task_id=task.id, points=task.points)
    db.session.commit()
    return done_id is not None


def check_task(team: Team, user: User, task_id: str) -> TaskOutcome:
    """Run a check task in the team's environment (through a lab job) and record it."""
    spec = spec_of(team.exercise)
    task = _task(spec, task_id, "check")
    session = require_playing(team)
    _rate_limit(
        team,
        "check-failed",
        CHECKS_PER_MINUTE,
        _("Your team asked for many checks in a minute. Wait %(seconds)s seconds."),
    )
    engine = health.engine_health()
    if not engine.is_up():
        raise ServiceUnavailable(engine.unavailable_message())
    job = jobs.enqueue(
        "exercise-check", session.id, payload={"team": team.id, "task": task.id, "user": user.id}
    )
    finished = jobs.wait_finished(job.id, task.timeout_seconds + CHECK_QUEUE_SLACK)
    if finished is None:
        raise ServiceUnavailable(
            _("The check is taking longer than usual. Check again in a minute; nothing was lost.")
        )
    result = finished.result or {}
    if result.get("error") == "vanished":
        raise NotRunning(_("Your team's environment is not running."))
    if result.get("error") or finished.status != jobs.DONE:
        raise ServiceUnavailable()
    if result["passed"]:
        return TaskOutcome(True, _("Passed: task done for your team."), result["output"])
    return TaskOutcome(False, _("Not yet: the check failed."), result["output"])


@jobs.handler("exercise-check", max_attempts=1)
def _run_team_check_job(job: jobs.LabJob) -> None:
    """On a lab worker: run the check in the team's lab, record the outcome for the team."""
    team = db.session.get(Team, job.payload["team"])
    spec = spec_of(team.exercise) if team is not None else None
    task = spec.task(job.payload["task"]) if spec is not None else None
    session = team.lab_session if team is not None else None
    if task is None or session is None or session.status != SESSION_RUNNING:
        job.result = {"error": "vanished"}
        return
    try:
        outcome = run_check_command(session, spec, task)
    except LabNotFound:
        job.result = {"error": "vanished"}
        return
    except EngineUnavailable as exc:
        health.engine_health().mark_failure(exc)
        job.result = {"error": "unavailable"}
        return
    user = db.session.get(User, job.payload["user"])
    if outcome.passed:
        complete_team_task(team, task, user)
    else:
        add_event(
            team.exercise,
            "check-failed",
            team=team,
            user=user,
            task_id=task.id,
            detail=outcome.output,
        )
        db.session.commit()
    job.result = {"passed": outcome.passed, "output": outcome.output}


def submit_flag(team: Team, user: User, task_id: str, submitted: str) -> TaskOutcome:
    """Grade a flag for the team: its flag is the anchor's (``flag_for(anchor, lab)``)."""
    spec = spec_of(team.exercise)
    task = _task(spec, task_id, "flag")
    session = require_playing(team)
    submitted = (submitted or "").strip()
    if not submitted:
        raise BadLabRequest(_("Paste the flag you found, like FLAG{...}."))
    if len(submitted) > MAX_FLAG_LENGTH:
        raise BadLabRequest(_("That is far too long to be a flag."))
    _rate_limit(
        team,
        "flag-wrong",
        WRONG_FLAGS_PER_MINUTE,
        _("Too many wrong flags in a minute. Wait %(seconds)s seconds, then try again."),
    )
    expected = flag_for(session.user_id, spec.slug)
    if hmac.compare_digest(expected.encode(), submitted.encode()):
        complete_team_task(team, task, user)
        return TaskOutcome(True, _("Correct: task done for your team."))
    owner = _team_whose_flag(team, spec, submitted)
    add_event(
        team.exercise,
        "flag-wrong",
        team=team,
        user=user,
        task_id=task.id,
        detail=f"the flag of team {owner.name}" if owner is not None else "",
    )
    db.session.commit()
    if owner is not None:
        return TaskOutcome(
            False, _("That flag belongs to another team; this submission has been recorded.")
        )
    return TaskOutcome(False, _("That is not the flag. Check for typos and try again."))


def _team_whose_flag(team: Team, spec: LabSpec, submitted: str) -> Team | None:
    if not submitted.startswith("FLAG{"):
        return None
    for other in team.exercise.teams:
        anchor = other.lab_session.user_id if other.lab_session is not None else None
        if (
            other.id != team.id
            and anchor is not None
            and hmac.compare_digest(flag_for(anchor, spec.slug).encode(), submitted.encode())
        ):
            return other
    return None


def reveal_hint(team: Team, user: User, task_id: str, accept_penalty: bool) -> str:
    """The task's hint (safe HTML). Its first reveal costs the team the task's penalty, only
    once the member accepted it."""
    spec = spec_of(team.exercise)
    task = spec.task(task_id or "") if spec is not None else None
    if task is None or not task.hint:
        raise TaskUnknown(_("This task has no hint."))
    if task.id not in hints_revealed(team):
        require_playing(team)
        if task.penalty and not accept_penalty:
            raise PenaltyNotAccepted(
                _("This hint costs your team %(points)s points.", points=task.penalty)
            )
        # one reveal per team and task, even when two members ask at once (PostgreSQL)
        db.session.execute(select(Team.id).where(Team.id == team.id).with_for_update())
        if task.id not in hints_revealed(team):
            add_event(
                team.exercise, "hint", team=team, user=user, task_id=task.id, points=task.penalty
            )
        db.session.commit()
    return render_inline(task.hint)


def hints_revealed(team: Team) -> set[str]:
    return set(
        db.session.scalars(
            select(ExerciseEvent.task_id).where(
                ExerciseEvent.team_id == team.id, ExerciseEvent.kind == "hint"
            )
        )
    )


def team_tasks(team: Team) -> list[dict]:
    """Each task of the exercise's lab for this team: its role, done by whom and when,
    points, the hint if revealed, and the last failed check's output."""
    spec = spec_of(team.exercise)
    if spec is None:
        return []
    done = {
        c.task_id: c
        for c in db.session.scalars(
            select(TeamTaskCompletion).where(TeamTaskCompletion.team_id == team.id)
        )
    }
    names = {m.user_id: m.user.display_name for m in team.members}
    hints = hints_revealed(team)
    last_failed = {}
    for event in db.session.scalars(
        select(ExerciseEvent)
        .where(ExerciseEvent.team_id == team.id, ExerciseEvent.kind == "check-failed")
        .order_by(ExerciseEvent.id)
    ):
        last_failed[event.task_id] = event
    tasks = []
    for task in spec.tasks:
        completion = done.get(task.id)
        role = spec.role(task.role) if task.role else None
        failed = last_failed.get(task.id)
        tasks.append(
            {
                "id": task.id,
                "title": task.title,
                "title_html": _inline_html(task.title),
                "type": task.type,
                "role": task.role,
                "role_title": role.title if role else None,
                "points": task.points,
                "done": completion is not None,
                "done_by": names.get(completion.user_id, "") if completion else None,
                "done_by_id": completion.user_id if completion else None,
                "done_at": completion.completed_at.isoformat() if completion else None,
                "has_hint": bool(task.hint),
                "hint_penalty": task.penalty if task.hint else 0,
                "hint_html": _inline_html(task.hint) if task.hint and task.id in hints else None,
                "last_output": failed.detail if failed is not None and completion is None else None,
            }
        )
    return tasks


# -- the notes pad ----------------------------------------------------------------------------


def save_notes(team: Team, user: User, text: str, base_version: int) -> int:
    """Save the team's notes if nobody saved since ``base_version``; the new version.

    A stale save raises NotesConflict carrying the current text, version and who saved
    it, so the page can show both and nothing is lost."""
    text = (text or "").replace("\r\n", "\n")
    if len(text) > NOTES_MAX_CHARS:
        raise BadLabRequest(
            _(
                "The notes are too long (%(length)s characters; at most %(max)s). "
                "Shorten them, then save again.",
                length=len(text),
                max=NOTES_MAX_CHARS,
            )
        )
    now = utcnow()
    saved = db.session.execute(
        update(Team)
        .where(Team.id == team.id, Team.notes_version == base_version)
        .values(
            notes=text,
            notes_version=Team.notes_version + 1,
            notes_updated_at=now,
            notes_updated_by_id=user.id,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not saved:
        db.session.rollback()
        db.session.refresh(team)
        raise NotesConflict(
            _("A teammate saved the notes meanwhile: both versions are shown, nothing is lost."),
            notes=team.notes,
            version=team.notes_version,
            saved_by=_notes_author(team),
        )
    if not _noted_recently(team, user, now):
        add_event(team.exercise, "notes", team=team, user=user)
    db.session.commit()
    db.session.refresh(team)
    return team.notes_version


def _notes_author(team: Team) -> str:
    if team.notes_updated_by_id is None:
        return ""
    author = db.session.get(User, team.notes_updated_by_id)
    return author.display_name if author is not None else ""


def notes_state(team: Team) -> dict:
    return {
        "text": team.notes,
        "version": team.notes_version,
        "saved_by": _notes_author(team),
        "saved_at": team.notes_updated_at.isoformat() if team.notes_updated_at else None,
    }


def _noted_recently(team: Team, user: User, now) -> bool:
    return (
        db.session.scalar(
            select(ExerciseEvent.id)
            .where(
                ExerciseEvent.team_id == team.id,
                ExerciseEvent.user_id == user.id,
                ExerciseEvent.kind == "notes",
                ExerciseEvent.at > now - NOTES_EVENT_EVERY,
            )
            .limit(1)
        )
        is not None
    )
