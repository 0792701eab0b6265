"""Opening terminals, keeping their recordings and commands, and the review of a session.

Views, the bridge and the CLI use these; nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from lms.auth.models import User, utcnow
from lms.content import lab_library
from lms.content.lab_model import LabSpec, TaskSpec
from lms.extensions import db
from lms.labs.app_runtime import lab_runtime
from lms.labs.models import RUNNING, LabSession, TaskAttempt
from lms.labs.runtime.base import LabError, LabNotFound
from lms.terminal.asciicast import AsciicastWriter, folder_size
from lms.terminal.bridge import Slot, Terminal, TerminalKey, TerminalLimits, hub
from lms.terminal.commands import Command
from lms.terminal.models import TerminalCommand, TerminalRecording
from lms.terminal.proxy import Upstream

log = logging.getLogger(__name__)

MAX_COMMANDS_PER_SESSION = 5000
ADDRESS_TTL = 30.0  # seconds a container's address is remembered


class TerminalUnavailable(Exception):
    """A terminal cannot be opened now; the message is for the trainee."""


# -- the lab's web services ----------------------------------------------------------------


def web_ports(spec: LabSpec | None) -> list[tuple[str, int]]:
    """(container, port) of every web service the lab declares, in lab.yaml order."""
    if spec is None:
        return []
    return [(name, port) for name, ports in spec.ports.items() for port in ports]


def session_is_running(session_id: int) -> bool:
    status = db.session.scalar(select(LabSession.status).where(LabSession.id == session_id))
    return status == RUNNING


# -- terminals -------------------------------------------------------------------------------


def open_terminal(
    lab_session: LabSession,
    user: User,
    terminal_key: str,
    cols: int,
    rows: int,
    slot: Slot | None = None,
) -> Terminal:
    """Open a shell in the lab's workstation, recorded; raise TerminalUnavailable.

    ``slot`` (this process's room for the shell) is released when the terminal
    ends; on a failure here the caller still holds it.
    """
    app = current_app._get_current_object()
    config = app.config
    spec = lab_library.get_spec(lab_session.lab_slug)
    if spec is None:
        raise TerminalUnavailable("This lab's definition cannot be read: tell your instructor.")
    if hub.count(lab_session.id, user.id) >= config["LMS_TERMINAL_MAX_TABS"]:
        raise TerminalUnavailable(
            f"You have {config['LMS_TERMINAL_MAX_TABS']} terminals open in this lab: "
            "close one first."
        )
    workstation = spec.containers[spec.workstation]
    try:
        shell = lab_runtime().open_shell(
            lab_session.key, spec.workstation, workstation.user, workstation.workdir, cols, rows
        )
    except LabNotFound as exc:
        raise TerminalUnavailable("The lab's workstation is not running: restart the lab.") from exc
    except LabError as exc:
        raise TerminalUnavailable(f"The terminal could not be opened: {exc}") from exc

    try:
        recording = TerminalRecording(
            session_id=lab_session.id,
            user_id=user.id,
            terminal_key=terminal_key,
            path="",
            width=cols,
            height=rows,
        )
        db.session.add(recording)
        db.session.flush()
        recording.path = f"{lab_session.id}/{recording.id}-{terminal_key}.cast"
        db.session.commit()
        path = recordings_dir() / recording.path
        writer = AsciicastWriter(
            path,
            cols,
            rows,
            config["LMS_RECORDING_MAX_BYTES"],
            others=lambda: folder_size(path.parent, exclude=path),
            title=f"{spec.title}: {user.display_name}",
        )
    except Exception:
        shell.close()
        raise
    recording_id = recording.id
    terminal = Terminal(
        TerminalKey(lab_session.id, user.id, terminal_key),
        shell,
        writer,
        TerminalLimits(
            idle_seconds=config["LMS_TERMINAL_IDLE_MINUTES"] * 60,
            reattach_seconds=config["LMS_TERMINAL_REATTACH_SECONDS"],
        ),
        lab_is_live=lambda: _in_app(app, session_is_running, lab_session.id),
        on_end=lambda t, reason: _ended(app, t, recording_id, reason),
    )
    terminal.recording_id = recording_id
    terminal.slot = slot
    hub.add(terminal)
    terminal.start()
    return terminal


def save_commands(
    recording_id: int, session_id: int, commands: list[Command], offset: float
) -> None:
    """Keep the command lines typed (bounded per session, against a flood)."""
    count = db.session.scalar(
        select(db.func.count(TerminalCommand.id)).where(TerminalCommand.session_id == session_id)
    )
    for command in commands[: max(0, MAX_COMMANDS_PER_SESSION - (count or 0))]:
        db.session.add(
            TerminalCommand(
                recording_id=recording_id,
                session_id=session_id,
                offset=round(offset, 3),
                text=command.text,
                edited=command.edited,
            )
        )
    db.session.commit()


def _ended(app: Flask, terminal: Terminal, recording_id: int, reason: str) -> None:
    hub.forget(terminal)
    with app.app_context():
        recording = db.session.get(TerminalRecording, recording_id)
        if recording is not None:
            recording.ended_at = utcnow()
            recording.end_reason = reason[:80]
            recording.bytes = terminal.writer.bytes_written
            recording.truncated = terminal.writer.truncated
            db.session.commit()


def _in_app(app: Flask, function, *args):
    with app.app_context():
        return function(*args)


def recordings_dir() -> Path:
    """LMS_RECORDINGS_DIR, or ``recordings`` in the instance folder."""
    configured = current_app.config.get("LMS_RECORDINGS_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "recordings"


def recording_file(recording: TerminalRecording) -> Path:
    return recordings_dir() / recording.path


# -- web access ------------------------------------------------------------------------------

_addresses: dict[tuple[str, str], tuple[float, str]] = {}


def upstream_for(lab_session: LabSession, port: int, fresh: bool = False) -> Upstream | None:
    """Where the lab serves ``port`` (None: the lab declares no such port)."""
    spec = lab_library.get_spec(lab_session.lab_slug)
    container = next((name for name, p in web_ports(spec) if p == port), None)
    if container is None:
        return None
    cache_key = (lab_session.key, container)
    cached = _addresses.get(cache_key)
    if cached and not fresh and time.monotonic() - cached[0] < ADDRESS_TTL:
        address = cached[1]
    else:
        address = lab_runtime().container_address(lab_session.key, container)
        _addresses[cache_key] = (time.monotonic(), address)
    return Upstream(address=address, port=port, container=container)


def forget_address(lab_session: LabSession) -> None:
    for key in [k for k in _addresses if k[0] == lab_session.key]:
        _addresses.pop(key, None)


# -- review -----------------------------------------------------------------------------------


@dataclass
class TaskReview:
    """A task of the lab, what the trainee tried, and the commands that led to it."""

    id: str
    title: str
    type: str
    attempts: list[TaskAttempt] = field(default_factory=list)
    completed_at: datetime | None = None
    commands: list[TerminalCommand] = field(default_factory=list)

    @property
    def hints(self) -> int:
        return sum(1 for a in self.attempts if a.kind == "hint")

    @property
    def tries(self) -> int:
        return sum(1 for a in self.attempts if a.kind != "hint")


@dataclass
class SessionReview:
    lab_session: LabSession
    spec: LabSpec | None
    tasks: list[TaskReview]
    unattributed: list[TerminalCommand]  # typed after the last completed task
    recordings: list[TerminalRecording]


def session_review(lab_session: LabSession) -> SessionReview:
    """The session's tasks with the commands typed for each.

    Commands are given to the task completed next after them: everything typed
    up to the first completion belongs to that task, and so on; what was typed
    after the last completion is listed apart.
    """
    spec = lab_library.get_spec(lab_session.lab_slug)
    attempts = list(
        db.session.scalars(
            select(TaskAttempt)
            .where(TaskAttempt.session_id == lab_session.id)
            .order_by(TaskAttempt.created_at, TaskAttempt.id)
        )
    )
    commands = list(
        db.session.scalars(
            select(TerminalCommand)
            .where(TerminalCommand.session_id == lab_session.id)
            .order_by(TerminalCommand.at, TerminalCommand.id)
        )
    )
    recordings = list(
        db.session.scalars(
            select(TerminalRecording)
            .where(TerminalRecording.session_id == lab_session.id)
            .order_by(TerminalRecording.started_at, TerminalRecording.id)
        )
    )

    specs: tuple[TaskSpec, ...] = spec.tasks if spec else ()
    tasks = {t.id: TaskReview(t.id, t.title, t.type) for t in specs}
    for attempt in attempts:
        review = tasks.setdefault(
            attempt.task_id, TaskReview(attempt.task_id, attempt.task_id, attempt.kind)
        )
        review.attempts.append(attempt)
        if attempt.success and attempt.kind != "hint" and review.completed_at is None:
            review.completed_at = attempt.created_at

    done = sorted((t for t in tasks.values() if t.completed_at), key=lambda t: t.completed_at)
    remaining = list(commands)
    for task in done:
        task.commands = [c for c in remaining if c.at <= task.completed_at]
        remaining = remaining[len(task.commands) :]
    return SessionReview(lab_session, spec, list(tasks.values()), remaining, recordings)


def trainee_sessions(user_id: int) -> list[tuple[LabSession, int, int]]:
    """A trainee's lab sessions, newest first, with their recording and command counts."""
    sessions = list(
        db.session.scalars(
            select(LabSession)
            .where(LabSession.user_id == user_id)
            .order_by(LabSession.created_at.desc(), LabSession.id.desc())
        )
    )
    ids = [s.id for s in sessions]
    recordings = _count_per_session(TerminalRecording, ids)
    commands = _count_per_session(TerminalCommand, ids)
    return [(s, recordings.get(s.id, 0), commands.get(s.id, 0)) for s in sessions]


def recent_sessions(user_ids, limit: int = 200) -> list[LabSession]:
    """Lab sessions with recordings of the people ``user_ids`` (a SELECT, e.g.
    ``lms.centres.access.visible_trainee_ids``), newest first, with their trainee."""
    with_recordings = select(TerminalRecording.session_id).distinct()
    return list(
        db.session.scalars(
            select(LabSession)
            .options(joinedload(LabSession.user))
            .where(LabSession.id.in_(with_recordings), LabSession.user_id.in_(user_ids))
            .order_by(LabSession.created_at.desc())
            .limit(limit)
        )
    )


def live_recordings(session_id: int) -> list[TerminalRecording]:
    return list(
        db.session.scalars(
            select(TerminalRecording)
            .where(TerminalRecording.session_id == session_id, TerminalRecording.ended_at.is_(None))
            .order_by(TerminalRecording.id)
        )
    )


def recording_is_live(recording_id: int) -> bool:
    ended = db.session.scalar(
        select(TerminalRecording.ended_at).where(TerminalRecording.id == recording_id)
    )
    return ended is None


def _count_per_session(model, session_ids: list[int]) -> dict[int, int]:
    """How many rows of ``model`` each lab session has, in one query."""
    if not session_ids:
        return {}
    return dict(
        db.session.execute(
            select(model.session_id, db.func.count(model.id))
            .where(model.session_id.in_(session_ids))
            .group_by(model.session_id)
        ).all()
    )
