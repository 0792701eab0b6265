"""Routes of the terminal domain: the WebSocket, web access, recordings and their review."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    request,
    url_for,
)
from flask_login import current_user, login_required
from simple_websocket import ConnectionClosed

from lms.content import lab_library
from lms.extensions import db
from lms.labs import sharing
from lms.labs.models import LIVE_STATUSES, RUNNING, LabSession
from lms.labs.services import live_session
from lms.terminal import services
from lms.terminal.access import (
    audit,
    is_owner,
    lab_session_or_404,
    may_watch,
    same_origin,
)
from lms.terminal.asciicast import AsciicastTail
from lms.terminal.blueprint import bp
from lms.terminal.bridge import Peer, TerminalKey, hub
from lms.terminal.models import TerminalRecording
from lms.terminal.serving import serve_interactive, serve_watch
from lms.terminal.websocket import accept, finished

TERMINAL_KEY = re.compile(r"^[a-z0-9]{8,32}$")


@bp.app_template_global()
def lab_web_ports(lab_slug: str) -> list[tuple[str, int]]:
    """(container, port) pairs a lab serves to its owner's browser."""
    return services.web_ports(lab_library.get_spec(lab_slug))


@bp.app_template_global()
def terminal_capacity() -> dict[str, int]:
    """Terminals (shells and watches) this web process holds, against its capacity."""
    return {"open": hub.slots_taken, "capacity": _capacity()}


# -- the lab panel ------------------------------------------------------------------------------


@bp.get("/labs/<lab_slug>/terminal/state")
@login_required
def panel_state(lab_slug: str):
    """What the terminal panel needs: the user's live session of this lab, if any."""
    return jsonify(_panel_json(lab_slug, live_session(current_user.id, lab_slug)))


@bp.get("/labs/sessions/<int:session_id>/terminal/state")
@login_required
def session_panel_state(session_id: int):
    """The terminal panel's state for one lab session (a team's, on the exercise page):
    for its owner and the members the sharing rule lets in; ``session`` is None while
    the session is not live. The same shape as ``panel_state``."""
    lab_session = lab_session_or_404(session_id)
    workstation = sharing.workstation_for(current_user, lab_session)
    if workstation is None and not is_owner(current_user, lab_session):
        abort(403, description="This lab session is not yours.")
    live = lab_session if lab_session.status in LIVE_STATUSES else None
    return jsonify(_panel_json(lab_session.lab_slug, live, workstation))


def _panel_json(lab_slug: str, lab_session: LabSession | None, workstation: str | None = None):
    if lab_session is None:
        return {"lab": lab_slug, "session": None}
    spec = lab_library.get_spec(lab_slug)
    web = [
        {
            "container": name,
            "port": port,
            "url": url_for(".web_access", session_id=lab_session.id, port=port, path=""),
        }
        for name, port in services.web_ports(spec)
    ]
    return {
        "lab": lab_slug,
        "session": {
            "id": lab_session.id,
            "status": lab_session.status,
            "socket": url_for(".terminal_socket", session_id=lab_session.id),
            "check": url_for(".terminal_check", session_id=lab_session.id),
            "review": url_for(".session_review", session_id=lab_session.id),
            "web": web,
            # the container the user's terminal opens on
            "workstation": workstation or (spec.workstation if spec else None),
        },
    }


# -- the WebSocket ---------------------------------------------------------------------------------

PLATFORM_FULL = (
    "The platform is full: it is holding all the terminals it can right now. "
    "Try again in a minute; your lab keeps running."
)
FULL_RETRY_SECONDS = 30


@dataclass
class SocketCheck:
    """What a terminal socket request asks for, and why it would be refused (if it would)."""

    refusal: tuple[int, str] | None = None
    lab_session: LabSession | None = None
    recording: TerminalRecording | None = None  # a live watch of this terminal
    key: TerminalKey | None = None  # the user's shell (None for a watch)
    container: str | None = None  # the lab container the user's shell opens on


def _check_socket(session_id: int) -> SocketCheck:
    """The checks made before any upgrade (and by the panel's ``terminal_check``)."""
    if not current_user.is_authenticated:
        return SocketCheck((403, "Sign in first."))
    lab_session = db.session.get(LabSession, session_id)
    if lab_session is None:
        return SocketCheck((403, "This lab session is not yours."))
    watch = request.args.get("watch", type=int)
    if watch is not None:
        return _check_watch(lab_session, watch)
    # The owner's on the lab's workstation, a team member's on their role's; else none.
    # (An owner whose lab cannot be read is told so when the shell opens.)
    container = sharing.workstation_for(current_user, lab_session)
    if container is None and not is_owner(current_user, lab_session):
        return SocketCheck((403, "This lab session is not yours."))
    if lab_session.status != RUNNING:
        return SocketCheck((409, "The lab is not running."))
    terminal_key = request.args.get("terminal", "")
    if not TERMINAL_KEY.match(terminal_key):
        return SocketCheck((400, "A terminal id is required."))
    key = TerminalKey(lab_session.id, current_user.id, terminal_key)
    # Re-attaching to a shell this process holds takes no new room.
    if hub.get(key) is None and not hub.has_room(_capacity()):
        return SocketCheck((503, PLATFORM_FULL))
    return SocketCheck(lab_session=lab_session, key=key, container=container)


def _check_watch(lab_session: LabSession, recording_id: int) -> SocketCheck:
    """A live watch: by whose terminal it is (a team member's, in a shared session)."""
    recording = db.session.get(TerminalRecording, recording_id)
    if recording is None or recording.session_id != lab_session.id:
        recording = None
    watched = recording.user if recording is not None else lab_session.user
    if not may_watch(current_user, lab_session, watched):
        return SocketCheck((403, "You do not follow this trainee."))
    if recording is None or not recording.is_live:
        return SocketCheck((404, "This terminal is not running."))
    if not services.recording_file(recording).exists():
        return SocketCheck((404, "This terminal is not recorded."))
    if not hub.has_room(_capacity()):
        return SocketCheck((503, PLATFORM_FULL))
    return SocketCheck(lab_session=lab_session, recording=recording)


def _capacity() -> int:
    return int(current_app.config["LMS_MAX_TERMINALS_PER_PROCESS"])


def _refuse(status: int, message: str) -> Response:
    current_app.logger.info("terminal socket refused (%s): %s %s", status, request.path, message)
    response = Response(message + "\n", status=status, mimetype="text/plain")
    if status == 503:
        response.headers["Retry-After"] = str(FULL_RETRY_SECONDS)
    return response


@bp.get("/labs/sessions/<int:session_id>/terminal/check")
def terminal_check(session_id: int):
    """Would a terminal socket with these parameters be refused, and why?

    Browsers hide a refused WebSocket handshake's answer from scripts: the
    panel asks here after a connection failed, to show the reason (and to
    try again later when the platform is full).
    """
    check = _check_socket(session_id)
    if check.refusal is None:
        return jsonify({"ok": True})
    status, message = check.refusal
    return jsonify({"ok": False, "status": status, "reason": message, "retry": status == 503})


@bp.route("/labs/sessions/<int:session_id>/terminal/ws", websocket=True)
def terminal_socket(session_id: int):
    """A terminal of the lab: the owner's shell, or a read-only watch for staff.

    Every refusal is an HTTP answer before the upgrade: no socket is opened.
    """
    if not same_origin():
        return _refuse(403, "This terminal can only be opened from the platform's own pages.")
    check = _check_socket(session_id)
    if check.refusal is not None:
        return _refuse(*check.refusal)
    if check.recording is not None:
        return _watch_socket(check.lab_session, check.recording)
    return _shell_socket(check.lab_session, check.key, check.container)


def _shell_socket(lab_session: LabSession, key: TerminalKey, container: str | None):
    cols = max(2, min(request.args.get("cols", 80, type=int), 500))
    rows = max(2, min(request.args.get("rows", 24, type=int), 200))
    seen = request.args.get("seen", 0, type=int)
    user = current_user._get_current_object()
    terminal = hub.get(key)
    reattached = terminal is not None
    slot = None
    if terminal is None:
        slot = hub.take_slot(_capacity())
        if slot is None:  # the last room went to another request meanwhile
            return _refuse(503, PLATFORM_FULL)

    ws = accept(ping_interval=current_app.config["LMS_TERMINAL_PING_SECONDS"])
    peer = Peer(ws)
    if terminal is None:
        try:
            terminal = services.open_terminal(
                lab_session, user, key.terminal, cols, rows, slot, seen=seen, container=container
            )
            reattached = terminal.shell.reattached  # taken over from another process
        except services.TerminalUnavailable as exc:
            slot.release()
            # The browser may have gone already (the lab stopped while the shell was
            # opening, and the panel closed its tabs): nobody is left to tell.
            with suppress(ConnectionClosed, OSError):
                peer.send_json({"t": "exit", "reason": str(exc), "final": True})
            return finished(ws)
        except BaseException:
            slot.release()
            raise
    terminal.attach(peer, seen, reattached)
    recording_id, lab_session_id = terminal.recording_id, lab_session.id
    db.session.close()  # no connection held while the terminal is open

    def save(commands, offset):
        services.save_commands(recording_id, lab_session_id, commands, offset)
        db.session.close()

    serve_interactive(peer, terminal, save)
    return finished(ws)


def _watch_socket(lab_session: LabSession, recording: TerminalRecording):
    slot = hub.take_slot(_capacity())
    if slot is None:
        return _refuse(503, PLATFORM_FULL)
    try:
        # about the person whose terminal it is (a team member's, in a shared session)
        audit(
            "terminal.watch",
            lab_session,
            subject=recording.user,
            detail=f"recording {recording.id}",
        )
        app = current_app._get_current_object()
        recording_id, lab_session_id = recording.id, lab_session.id
        tail = AsciicastTail(services.recording_file(recording))
        ws = accept(ping_interval=current_app.config["LMS_TERMINAL_PING_SECONDS"])
        db.session.close()

        def live() -> bool:
            with app.app_context():
                return services.recording_is_live(recording_id) and services.session_is_running(
                    lab_session_id
                )

        serve_watch(Peer(ws), tail, live)
    finally:
        slot.release()
    return finished(ws)
