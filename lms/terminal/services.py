"""Opening terminals, keeping their recordings and commands, and the review of a session.

Views, the bridge and the CLI use these; nothing here knows about HTTP.
"""

from __future__ import annotations

import logging
import secrets
import time
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import or_, select, update
from sqlalchemy.orm import joinedload

from lms.auth.models import User, utcnow
from lms.content import lab_library
from lms.content.lab_model import LabSpec
from lms.extensions import db
from lms.labs.app_runtime import lab_runtime
from lms.labs.models import RUNNING, LabSession
from lms.labs.runtime.base import LabError, LabNotFound, ShellChannel, ShellGone, WebEndpoint
from lms.terminal.asciicast import AsciicastWriter, folder_size, recorded_output
from lms.terminal.bridge import (
    ENDED,
    HEARTBEAT_SECONDS,
    MINE,
    RING_BYTES,
    TAKEN,
    Slot,
    Terminal,
    TerminalKey,
    TerminalLimits,
    hub,
)
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
    seen: int = 0,
    container: str | None = None,
) -> Terminal:
    """The terminal ``terminal_key`` of ``user`` on the lab container ``container`` (None:
    the lab's workstation; a team member's is their role's), recorded; raise
    TerminalUnavailable.

    Its held shell when it has one running (opened through any process: it is
    attached to again and its recording goes on), else a new shell and recording.
    ``seen``: the output bytes the browser has (the numbering goes on from there).
    ``slot`` (this process's room for the shell) is released when the terminal
    ends; on a failure here the caller still holds it.
    """
    spec = lab_library.get_spec(lab_session.lab_slug)
    if spec is None:
        raise TerminalUnavailable("This lab's definition cannot be read: tell your instructor.")
    container = container or spec.workstation
    if container not in spec.containers:
        raise TerminalUnavailable(
            f"This lab has no container {container!r} for your terminal: tell your instructor."
        )
    limits = _limits()
    live = db.session.scalar(
        select(TerminalRecording).where(
            TerminalRecording.session_id == lab_session.id,
            TerminalRecording.user_id == user.id,
            TerminalRecording.terminal_key == terminal_key,
            TerminalRecording.ended_at.is_(None),
        )
    )
    if live is not None and shell_container(spec, live) != container:
        # The person's workstation changed (another role): that shell is not theirs now.
        _end_held_shell(lab_session, spec, live)
        _finish(live.id, "Your workstation in this lab changed.")
        live = None
    if live is not None:
        terminal = _reattach(lab_session, spec, live, limits, cols, rows, slot, seen)
        if terminal is not None:
            return terminal
    return _open_new(lab_session, spec, user, terminal_key, container, limits, cols, rows, slot)


def shell_container(spec: LabSpec | None, recording: TerminalRecording) -> str | None:
    """The lab container a terminal's shell runs in (older rows: the lab's workstation)."""
    return recording.container or (spec.workstation if spec is not None else None)


def _open_new(
    lab_session, spec, user, terminal_key, container, limits, cols, rows, slot
) -> Terminal:
    config = current_app.config
    if _open_terminals(lab_session.id, user.id, limits) >= config["LMS_TERMINAL_MAX_TABS"]:
        raise TerminalUnavailable(
            f"You have {config['LMS_TERMINAL_MAX_TABS']} terminals open in this lab: "
            "close one first."
        )
    name = f"{terminal_key[:24]}-{secrets.token_hex(4)}"
    shell = _open_shell(lab_session, spec, container, cols, rows, name=name)
    try:
        now = utcnow()
        recording = TerminalRecording(
            session_id=lab_session.id,
            user_id=user.id,
            terminal_key=terminal_key,
            container=container,
            path="",
            width=cols,
            height=rows,
            shell_name=name if shell.held else None,
            shell_pid=shell.pid,
            attach_token=secrets.token_hex(16),
            heartbeat_at=now,
            last_input_at=now,
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
        shell.end()
        raise
    return _serve(lab_session, recording, shell, writer, limits, slot, seen=0, input_age=0.0)


def _reattach(lab_session, spec, live, limits, cols, rows, slot, seen) -> Terminal | None:
    """Attach to the live recording's held shell (taking it over); None when it is
    gone or abandoned (its row is then ended)."""
    if live.shell_name is None or live.shell_pid is None:
        # A plain shell (no holder in this lab) cannot move to another process.
        _finish(live.id, "This terminal could not move to another web process.")
        return None
    abandoned = _abandoned_reason(live, limits, utcnow())
    if abandoned:
        _end_held_shell(lab_session, spec, live)
        _finish(live.id, abandoned)
        return None
    token = secrets.token_hex(16)
    db.session.execute(
        update(TerminalRecording)
        .where(TerminalRecording.id == live.id, TerminalRecording.ended_at.is_(None))
        .values(attach_token=token, heartbeat_at=utcnow())
    )
    db.session.commit()
    try:
        shell = _open_shell(
            lab_session,
            spec,
            shell_container(spec, live),
            cols,
            rows,
            name=live.shell_name,
            pid=live.shell_pid,
        )
    except ShellGone:
        _finish(live.id, "The shell has exited.")
        return None
    live = db.session.get(TerminalRecording, live.id)
    path = recordings_dir() / live.path
    try:
        writer = AsciicastWriter.resume(
            path,
            current_app.config["LMS_RECORDING_MAX_BYTES"],
            others=lambda: folder_size(path.parent, exclude=path),
            truncated=live.truncated,
            width=live.width,
            height=live.height,
        )
    except Exception:
        shell.close()
        raise
    last_input = live.last_input_at or live.started_at
    input_age = max(0.0, (utcnow() - last_input).total_seconds())
    live.attach_token = token
    # A reloaded page (it has seen nothing) gets the screen back from the recording.
    replay = recorded_output(path, RING_BYTES) if seen == 0 else b""
    return _serve(
        lab_session,
        live,
        shell,
        writer,
        limits,
        slot,
        seen=seen,
        input_age=input_age,
        replay=replay,
    )


def _open_shell(lab_session, spec, container, cols, rows, **held) -> ShellChannel:
    """A shell in the lab container ``container``, as its user, in its workdir."""
    workstation = spec.containers[container]
    try:
        return lab_runtime().open_shell(
            lab_session.key,
            container,
            workstation.user,
            workstation.workdir,
            cols,
            rows,
            **held,
        )
    except ShellGone:
        raise
    except LabNotFound as exc:
        raise TerminalUnavailable("The lab's workstation is not running: restart the lab.") from exc
    except LabError as exc:
        raise TerminalUnavailable(f"The terminal could not be opened: {exc}") from exc


def _serve(
    lab_session, recording, shell, writer, limits, slot, *, seen, input_age, replay=b""
) -> Terminal:
    """The Terminal of this process for an opened (or re-attached) shell, started."""
    app = current_app._get_current_object()
    recording_id, token, session_id = recording.id, recording.attach_token, lab_session.id
    terminal = Terminal(
        TerminalKey(lab_session.id, recording.user_id, recording.terminal_key),
        shell,
        writer,
        limits,
        lab_is_live=lambda: _in_app(app, session_is_running, session_id),
        on_end=lambda t, reason: _ended(app, t, recording_id, reason),
        vouch=lambda input_age: _in_app(app, vouch, recording_id, token, input_age),
        on_release=lambda t: _released(app, t, recording_id),
        output_offset=seen,
        input_age=input_age,
    )
    terminal.recording_id = recording_id
    terminal.slot = slot
    if replay:
        terminal.output.append(replay)
    hub.add(terminal)
    terminal.start()
    return terminal


def vouch(recording_id: int, token: str, input_age: float | None) -> str:
    """The heartbeat of the process holding a terminal (and its last keystroke): MINE,
    or TAKEN (another attach replaced ``token``), or ENDED."""
    now = utcnow()
    values = {"heartbeat_at": now}
    if input_age is not None:
        values["last_input_at"] = now - timedelta(seconds=input_age)
    result = db.session.execute(
        update(TerminalRecording)
        .where(
            TerminalRecording.id == recording_id,
            TerminalRecording.attach_token == token,
            TerminalRecording.ended_at.is_(None),
        )
        .values(**values)
    )
    db.session.commit()
    if result.rowcount:
        return MINE
    ended = db.session.scalar(
        select(TerminalRecording.ended_at).where(TerminalRecording.id == recording_id)
    )
    return TAKEN if ended is None else ENDED


def end_abandoned_terminals() -> int:
    """End the terminals no process serves any more (their process died): heartbeat
    older than the re-attach grace, no keystroke for LMS_TERMINAL_IDLE_MINUTES, or the
    lab not running. Kills their held shells; returns how many were ended. For the
    reaper: safe to run in several processes at once."""
    limits, now = _limits(), utcnow()
    stale, idle = _stale_before(limits, now), now - timedelta(seconds=limits.idle_seconds)
    rows = list(
        db.session.scalars(
            select(TerminalRecording)
            .join(LabSession, LabSession.id == TerminalRecording.session_id)
            .where(
                TerminalRecording.ended_at.is_(None),
                or_(
                    TerminalRecording.heartbeat_at.is_(None),
                    TerminalRecording.heartbeat_at < stale,
                    TerminalRecording.last_input_at < idle,
                    LabSession.status != RUNNING,
                ),
            )
        )
    )
    ended = 0
    for recording in rows:
        lab_session = db.session.get(LabSession, recording.session_id)
        reason = _abandoned_reason(recording, limits, now) or "The lab has stopped."
        if lab_session.status == RUNNING:
            spec = lab_library.get_spec(lab_session.lab_slug)
            if spec is not None:
                _end_held_shell(lab_session, spec, recording)
        ended += _finish(recording.id, reason)
    return ended


def _abandoned_reason(recording: TerminalRecording, limits: TerminalLimits, now) -> str | None:
    if recording.heartbeat_at is None or recording.heartbeat_at < _stale_before(limits, now):
        return "The browser did not come back."
    if (
        recording.last_input_at is not None
        and (now - recording.last_input_at).total_seconds() > limits.idle_seconds
    ):
        return f"Closed after {round(limits.idle_seconds / 60)} minutes without a keystroke."
    return None


def _stale_before(limits: TerminalLimits, now) -> datetime:
    return now - timedelta(seconds=limits.reattach_seconds + 2 * HEARTBEAT_SECONDS)


def _end_held_shell(lab_session: LabSession, spec: LabSpec, recording: TerminalRecording) -> None:
    if recording.shell_name is None or recording.shell_pid is None:
        return
    container = shell_container(spec, recording)
    workstation = spec.containers.get(container)
    with suppress(LabError):
        lab_runtime().end_shell(
            lab_session.key,
            container,
            workstation.user if workstation else None,
            recording.shell_name,
            recording.shell_pid,
        )


def _finish(recording_id: int, reason: str) -> int:
    """Mark a recording ended (once: a first reason is kept); 1 when this call did."""
    done = db.session.execute(
        update(TerminalRecording)
        .where(TerminalRecording.id == recording_id, TerminalRecording.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason[:80])
    ).rowcount
    db.session.commit()
    return done


def _open_terminals(session_id: int, user_id: int, limits: TerminalLimits) -> int:
    """A trainee's terminals in a lab session that some process serves now."""
    return db.session.scalar(
        select(db.func.count(TerminalRecording.id)).where(
            TerminalRecording.session_id == session_id,
            TerminalRecording.user_id == user_id,
            TerminalRecording.ended_at.is_(None),
            TerminalRecording.heartbeat_at >= _stale_before(limits, utcnow()),
        )
    )


def _limits() -> TerminalLimits:
    config = current_app.config
    return TerminalLimits(
        idle_seconds=config["LMS_TERMINAL_IDLE_MINUTES"] * 60,
        reattach_seconds=config["LMS_TERMINAL_REATTACH_SECONDS"],
    )


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
            if recording.ended_at is None:  # else ended elsewhere first: keep why
                recording.ended_at = utcnow()
                recording.end_reason = reason[:80]
            recording.bytes = terminal.writer.bytes_written
            recording.truncated = terminal.writer.truncated
            db.session.commit()


def _released(app: Flask, terminal: Terminal, recording_id: int) -> None:
    """The terminal left this process (its shell runs on): keep the recording's size."""
    hub.forget(terminal)
    with app.app_context():
        db.session.execute(
            update(TerminalRecording)
            .where(TerminalRecording.id == recording_id)
            .values(bytes=terminal.writer.bytes_written, truncated=terminal.writer.truncated)
        )
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

_endpoints: dict[tuple[str, str, int], tuple[float, WebEndpoint]] = {}


def upstream_for(lab_session: LabSession, port: int, fresh: bool = False) -> Upstream | None:
    """Where the lab serves ``port`` (None: the lab declares no such port)."""
    spec = lab_library.get_spec(lab_session.lab_slug)
    container = next((name for name, p in web_ports(spec) if p == port), None)
    if container is None:
        return None
    cache_key = (lab_session.key, container, port)
    cached = _endpoints.get(cache_key)
    if cached and not fresh and time.monotonic() - cached[0] < ADDRESS_TTL:
        endpoint = cached[1]
    else:
        endpoint = lab_runtime().web_endpoint(lab_session.key, container, port)
        _endpoints[cache_key] = (time.monotonic(), endpoint)
    return Upstream(address=endpoint.host, port=endpoint.port, container=container, lab_port=port)


def forget_address(lab_session: LabSession) -> None:
    for key in [k for k in _endpoints if k[0] == lab_session.key]:
        _endpoints.pop(key, None)


# -- lab session lists (the review itself: lms.terminal.review) --------------------------------


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


def session_people(lab_session: LabSession) -> list[User]:
    """The session's owner, then everyone else who opened a terminal in it (team members)."""
    others = select(TerminalRecording.user_id).where(
        TerminalRecording.session_id == lab_session.id,
        TerminalRecording.user_id != lab_session.user_id,
    )
    return [lab_session.user] + list(
        db.session.scalars(select(User).where(User.id.in_(others)).order_by(User.id))
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
