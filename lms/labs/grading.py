"""Lab tasks: check runs, hints, completions, and what the panel and the API show of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update

from lms.auth.models import User, utcnow
from lms.catalog.models import Module
from lms.catalog.rendering import render_inline
from lms.content import lab_library
from lms.content.lab_model import LabSpec, TaskSpec
from lms.extensions import db
from lms.labs import app_runtime, health, jobs
from lms.labs.errors import (
    NotRunning,
    PenaltyNotAccepted,
    ServiceUnavailable,
    TaskUnknown,
    TooManyAttempts,
    refuse_team_lab,
)
from lms.labs.models import (
    CHECK,
    HINT,
    LIVE_STATUSES,
    RUNNING,
    STOPPED,
    LabSession,
    TaskAttempt,
    TaskCompletion,
)
from lms.labs.runtime import EngineUnavailable, LabNotFound
from lms.progress.points import LabPoints, SourcePoints
from lms.xapi import events as xapi

CHECKS_PER_MINUTE = 12
OUTPUT_SHOWN = 1500  # characters of a check's output kept and shown


def complete_task(user_id: int, lab_slug: str, task: TaskSpec, session_id: int | None) -> bool:
    """Record the task as done (once); True when it was not done before. Caller commits."""
    exists = db.session.scalar(
        select(TaskCompletion.id).where(
            TaskCompletion.user_id == user_id,
            TaskCompletion.lab_slug == lab_slug,
            TaskCompletion.task_id == task.id,
        )
    )
    if exists:
        return False
    db.session.add(
        TaskCompletion(
            user_id=user_id,
            lab_slug=lab_slug,
            task_id=task.id,
            points=task.points,
            session_id=session_id,
        )
    )
    xapi.task_completed(user_id, lab_slug, task, _module_of_session(session_id))
    return True


def _module_of_session(session_id: int | None) -> int | None:
    """The module a session was started from (the caller has the session loaded)."""
    session = db.session.get(LabSession, session_id) if session_id is not None else None
    return session.module_id if session is not None else None


@dataclass
class CheckOutcome:
    passed: bool
    output: str


CHECK_QUEUE_SLACK = 30  # seconds a check may wait for a lab worker, beyond its timeout
CHECK_SLOW_MESSAGE = (
    "The check is taking longer than usual: the lab workers are busy. "
    "Check again in a minute; nothing was lost."
)


def run_check(session: LabSession, spec: LabSpec, task_id: str) -> CheckOutcome:
    """Run a check task's command in the trainee's running lab and record the result.

    The request never calls the engine: it queues a ``check`` job and waits for a lab
    worker to run it (``_run_check_job``). The command runs with the task's timeout
    (the runtime kills it). Raises TaskUnknown, NotRunning, TooManyAttempts or
    ServiceUnavailable.
    """
    refuse_team_lab(spec)  # graded per team by lms.exercises
    task = spec.task(task_id or "")
    if task is None or task.type != "check":
        raise TaskUnknown(f"This lab has no check task “{task_id}”.")
    if session.status != RUNNING:
        raise NotRunning("Start the lab first: checks look at what you did inside it.")
    _check_rate(session.user_id, spec.slug)
    engine = health.engine_health()
    if not engine.is_up():
        raise ServiceUnavailable(engine.unavailable_message())
    job = jobs.enqueue("check", session.id, payload={"task": task.id})
    finished = jobs.wait_finished(job.id, task.timeout_seconds + CHECK_QUEUE_SLACK)
    db.session.refresh(session)
    if finished is None:
        raise ServiceUnavailable(CHECK_SLOW_MESSAGE)
    result = finished.result or {}
    if result.get("error") == "vanished":
        raise NotRunning("Your lab is no longer running. Start it again, then check.")
    if result.get("error") == "unavailable" or finished.status != jobs.DONE:
        raise ServiceUnavailable()
    return CheckOutcome(bool(result["passed"]), result["output"])


@jobs.handler("check", max_attempts=1)
def _run_check_job(job: jobs.LabJob) -> None:
    """On a lab worker: run the check, record the attempt, leave the outcome in the job."""
    session = db.session.get(LabSession, job.session_id) if job.session_id else None
    spec = lab_library.get_spec(session.lab_slug) if session is not None else None
    task = spec.task(job.payload["task"]) if spec is not None else None
    if session is None or task is None or session.status != RUNNING:
        job.result = {"error": "vanished"}
        return
    try:
        outcome = _check_on_engine(session, spec, task)
    except NotRunning:
        job.result = {"error": "vanished"}
        return
    except ServiceUnavailable:
        job.result = {"error": "unavailable"}
        return
    job.result = {"passed": outcome.passed, "output": outcome.output}


def run_check_command(session: LabSession, spec: LabSpec, task: TaskSpec) -> CheckOutcome:
    """Run a check task's command in the session's lab (on a lab worker): whether it passed
    and the output to show. Raises the runtime's LabNotFound or EngineUnavailable."""
    result = app_runtime.lab_runtime().run_check(
        session.key,
        spec.task_container(task),
        task.run or "false",
        task.timeout_seconds,
        user=spec.check_user(task),  # the trainee's view, unless the lab says `as: root`
    )
    output = result.output.strip()[-OUTPUT_SHOWN:]
    if result.timed_out:
        output = (output + "\n" if output else "") + (
            f"(the check was stopped after {task.timeout_seconds} s)"
        )
    return CheckOutcome(result.passed, output)


def _check_on_engine(session: LabSession, spec: LabSpec, task: TaskSpec) -> CheckOutcome:
    try:
        outcome = run_check_command(session, spec, task)
    except LabNotFound as exc:
        _mark_vanished(session)
        raise NotRunning("Your lab is no longer running. Start it again, then check.") from exc
    except EngineUnavailable as exc:
        health.engine_health().mark_failure(exc)
        raise ServiceUnavailable() from exc
    record_attempt(session, spec, task, kind=CHECK, success=outcome.passed, output=outcome.output)
    if outcome.passed:
        complete_task(session.user_id, spec.slug, task, session.id)
    db.session.commit()
    return outcome


def record_attempt(
    session: LabSession, spec: LabSpec, task: TaskSpec, *, kind: str, success: bool, output: str
) -> None:
    """One flag or check attempt in the trainee's session, added (the caller commits)."""
    db.session.add(
        TaskAttempt(
            session_id=session.id,
            user_id=session.user_id,
            lab_slug=spec.slug,
            task_id=task.id,
            kind=kind,
            success=success,
            output=output,
        )
    )


def _check_rate(user_id: int, lab_slug: str) -> None:
    since = utcnow() - timedelta(minutes=1)
    count = db.session.scalar(
        select(func.count())
        .select_from(TaskAttempt)
        .where(
            TaskAttempt.user_id == user_id,
            TaskAttempt.lab_slug == lab_slug,
            TaskAttempt.kind == CHECK,
            TaskAttempt.created_at > since,
        )
    )
    if count >= CHECKS_PER_MINUTE:
        raise TooManyAttempts(
            "You asked for many checks in a minute. Wait a little, then check again.", 30
        )


def _mark_vanished(session: LabSession) -> None:
    db.session.execute(
        update(LabSession)
        .where(LabSession.id == session.id, LabSession.status.in_(LIVE_STATUSES))
        .values(status=STOPPED, ended_at=utcnow(), end_reason="vanished")
    )
    db.session.commit()


def reveal_hint(
    user: User,
    spec: LabSpec,
    task_id: str,
    session_id: int | None = None,
    accept_penalty: bool = True,
) -> str:
    """The task's hint (safe HTML); the first reveal is recorded for instructors, with
    what it costs (the task's ``penalty``). A hint that costs points is revealed only
    when the caller says the trainee accepted the cost (``accept_penalty``)."""
    refuse_team_lab(spec)  # graded per team by lms.exercises
    task = spec.task(task_id or "")
    if task is None or not task.hint:
        raise TaskUnknown(f"Task “{task_id}” of this lab has no hint.")
    if not _hints_revealed(user.id, spec.slug, [task.id]):
        if task.penalty and not accept_penalty:
            raise PenaltyNotAccepted(
                f"This hint costs {task.penalty} point{'s' if task.penalty != 1 else ''}: "
                "ask again with accept_penalty to reveal it."
            )
        db.session.add(
            TaskAttempt(
                session_id=session_id,
                user_id=user.id,
                lab_slug=spec.slug,
                task_id=task.id,
                kind=HINT,
                success=True,
                output="",
                penalty=task.penalty,
            )
        )
        xapi.hint_revealed(user, spec.slug, task, _module_of_session(session_id))
        db.session.commit()
    return render_inline(task.hint)


def _hints_revealed(user_id: int, lab_slug: str, task_ids: list[str] | None = None) -> set[str]:
    query = select(TaskAttempt.task_id).where(
        TaskAttempt.user_id == user_id,
        TaskAttempt.lab_slug == lab_slug,
        TaskAttempt.kind == HINT,
    )
    if task_ids is not None:
        query = query.where(TaskAttempt.task_id.in_(task_ids))
    return set(db.session.scalars(query))


def completed_tasks(user_id: int, lab_slug: str) -> set[str]:
    return set(
        db.session.scalars(
            select(TaskCompletion.task_id).where(
                TaskCompletion.user_id == user_id,
                TaskCompletion.lab_slug == lab_slug,
            )
        )
    )


def task_states(user_id: int, spec: LabSpec) -> list[dict]:
    """Each task of the lab with this trainee's state: done, hint revealed, last result."""
    done = completed_tasks(user_id, spec.slug)
    hints = _hints_revealed(user_id, spec.slug)
    last: dict[str, TaskAttempt] = {}
    for attempt in db.session.scalars(
        select(TaskAttempt)
        .where(
            TaskAttempt.user_id == user_id,
            TaskAttempt.lab_slug == spec.slug,
            TaskAttempt.kind != HINT,
        )
        .order_by(TaskAttempt.id)
    ):
        last[attempt.task_id] = attempt
    states = []
    for task in spec.tasks:
        attempt = last.get(task.id)
        states.append(
            {
                "id": task.id,
                "title": task.title,
                "title_html": render_inline(task.title),
                "type": task.type,
                "points": task.points,
                "done": task.id in done,
                "has_hint": bool(task.hint),
                "hint_penalty": task.penalty if task.hint else 0,
                "hint_html": render_inline(task.hint) if task.hint and task.id in hints else None,
                "last_result": {
                    "kind": attempt.kind,
                    "success": attempt.success,
                    "output": attempt.output if attempt.kind == CHECK else "",
                }
                if attempt
                else None,
            }
        )
    return states


def lab_points(user_ids: list[int], modules) -> SourcePoints:
    """Points of the labs these modules name (each lab once): tasks done, hint penalties
    (lms.progress.points asks for them)."""
    slugs = sorted({m.lab_slug for m in modules if m.lab_slug})
    specs = [s for s in (lab_library.get_spec(slug) for slug in slugs) if s is not None]
    part = SourcePoints(possible=sum(t.points for s in specs for t in s.tasks))
    if not user_ids or not slugs:
        return part
    done = db.session.execute(
        select(TaskCompletion.user_id, func.sum(TaskCompletion.points))
        .where(TaskCompletion.user_id.in_(user_ids), TaskCompletion.lab_slug.in_(slugs))
        .group_by(TaskCompletion.user_id)
    )
    for user_id, points in done:
        part.by_user.setdefault(user_id, LabPoints()).tasks = int(points or 0)
    penalties = db.session.execute(
        select(TaskAttempt.user_id, func.sum(TaskAttempt.penalty))
        .where(
            TaskAttempt.user_id.in_(user_ids),
            TaskAttempt.lab_slug.in_(slugs),
            TaskAttempt.kind == HINT,
            TaskAttempt.penalty > 0,
        )
        .group_by(TaskAttempt.user_id)
    )
    for user_id, points in penalties:
        part.by_user.setdefault(user_id, LabPoints()).penalties = int(points or 0)
    return part


def lab_completion_rule(user: User, module: Module) -> list[str]:
    """A module that names a lab is complete only when every task of that lab is done."""
    if not module.lab_slug:
        return []
    spec = lab_library.get_spec(module.lab_slug)
    if spec is None or not spec.tasks:
        return []
    done = completed_tasks(user.id, spec.slug)
    left = [t for t in spec.tasks if t.id not in done]
    if not left:
        return []
    return [f"complete the lab tasks ({len(left)} of {len(spec.tasks)} left)"]
