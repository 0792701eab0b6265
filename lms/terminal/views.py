"""Routes of the terminal domain: the WebSocket, web access, recordings and their review."""

from __future__ import annotations

import re
from contextlib import suppress
from dataclasses import dataclass
from urllib.parse import quote

from flask import (
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from simple_websocket import ConnectionClosed

from lms.auth.models import User
from lms.auth.visibility import visible_trainee_ids
from lms.content import lab_library
from lms.extensions import csrf, db, login_manager
from lms.labs.models import LIVE_STATUSES, RUNNING, LabSession
from lms.labs.runtime.base import LabError
from lms.labs.services import live_session
from lms.terminal import services
from lms.terminal.access import (
    audit,
    can_follow,
    can_review,
    is_owner,
    lab_session_or_404,
    platform_origin,
    proxy_request_allowed,
    same_origin,
)
from lms.terminal.asciicast import AsciicastTail
from lms.terminal.blueprint import bp
from lms.terminal.bridge import Peer, TerminalKey, hub, serve_interactive, serve_watch
from lms.terminal.models import TerminalRecording
from lms.terminal.proxy import ProxyRequest, UpstreamError, forward
from lms.terminal.websocket import accept, finished
from lms.web import CONTENT_SECURITY_POLICY, error_response, passes_body_through

TERMINAL_KEY = re.compile(r"^[a-z0-9]{8,32}$")
PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# The replay player runs its terminal emulator as WebAssembly.
PLAYER_CSP = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'"
)


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
    lab_session = live_session(current_user.id, lab_slug)
    if lab_session is None:
        return jsonify({"lab": lab_slug, "session": None})
    web = [
        {
            "container": name,
            "port": port,
            "url": url_for(".web_access", session_id=lab_session.id, port=port, path=""),
        }
        for name, port in services.web_ports(lab_library.get_spec(lab_slug))
    ]
    return jsonify(
        {
            "lab": lab_slug,
            "session": {
                "id": lab_session.id,
                "status": lab_session.status,
                "socket": url_for(".terminal_socket", session_id=lab_session.id),
                "check": url_for(".terminal_check", session_id=lab_session.id),
                "review": url_for(".session_review", session_id=lab_session.id),
                "web": web,
            },
        }
    )


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
    key: TerminalKey | None = None  # the owner's shell (None for a watch)


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
    if not is_owner(current_user, lab_session):
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
    return SocketCheck(lab_session=lab_session, key=key)


def _check_watch(lab_session: LabSession, recording_id: int) -> SocketCheck:
    if not can_follow(current_user, lab_session.user):
        return SocketCheck((403, "You do not follow this trainee."))
    recording = db.session.get(TerminalRecording, recording_id)
    if recording is None or recording.session_id != lab_session.id or not recording.is_live:
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
    return _shell_socket(check.lab_session, check.key)


def _shell_socket(lab_session: LabSession, key: TerminalKey):
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
            terminal = services.open_terminal(lab_session, user, key.terminal, cols, rows, slot)
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
        audit("terminal.watch", lab_session, detail=f"recording {recording.id}")
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


# -- web access to the lab's services ----------------------------------------------------------------


@bp.route("/labs/sessions/<int:session_id>/web/<int:port>", methods=PROXY_METHODS)
@csrf.exempt
@passes_body_through
def web_root(session_id: int, port: int):
    """The lab app's root needs the trailing slash, or its relative links break."""
    target = url_for(".web_access", session_id=session_id, port=port, path="")
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, code=308)


@bp.route(
    "/labs/sessions/<int:session_id>/web/<int:port>/", defaults={"path": ""}, methods=PROXY_METHODS
)
@bp.route("/labs/sessions/<int:session_id>/web/<int:port>/<path:path>", methods=PROXY_METHODS)
@csrf.exempt  # the lab app's forms carry no platform token: the Origin is checked instead
@passes_body_through
def web_access(session_id: int, port: int, path: str):
    """A lab web service, for the lab's owner only."""
    if not proxy_request_allowed():
        return error_response(403, "Lab web services open only from the platform's own pages.")
    if not current_user.is_authenticated:
        if request.method == "GET":
            return login_manager.unauthorized()
        return error_response(403, "Sign in first.")
    lab_session = lab_session_or_404(session_id)
    if not is_owner(current_user, lab_session):
        return error_response(403, "Only the trainee running this lab can open its services.")
    if lab_session.status not in LIVE_STATUSES:
        return error_response(409, "This lab has stopped: start it again from its module.")
    prefix = url_for(".web_root", session_id=session_id, port=port)
    try:
        upstream = services.upstream_for(lab_session, port)
    except LabError:
        return _service_down(port, "The lab's container is not running.")
    if upstream is None:
        return error_response(404, f"This lab has no web service on port {port}.")
    proxied = ProxyRequest(
        method=request.method,
        path=_inside_path(prefix, path),
        query=_query(),
        headers=list(request.headers.items()),
        body=_body(),
        prefix=prefix,
        platform_origin=platform_origin(),
    )
    try:
        answer = forward(proxied, upstream, current_app.config["LMS_PROXY_TIMEOUT"])
    except UpstreamError as exc:
        services.forget_address(lab_session)
        current_app.logger.info("lab %s port %s did not answer: %s", lab_session.id, port, exc)
        return _service_down(port, "")
    response = Response(answer.body, status=f"{answer.status} {answer.reason}")
    response.headers.clear()
    for name, value in answer.headers:
        response.headers.add(name, value)
    return response


def _inside_path(prefix: str, path: str) -> str:
    """The path as the browser sent it (still %-encoded), without the proxy prefix."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    raw = raw.split("?", 1)[0]
    if raw.startswith(prefix + "/"):
        return raw[len(prefix) :]
    return "/" + quote(path)


def _query() -> str:
    return request.query_string.decode("latin-1")


def _body() -> bytes | None:
    if request.content_length or request.headers.get("Transfer-Encoding"):
        return request.get_data(cache=False)
    return None


def _service_down(port: int, detail: str):
    message = (
        f"The lab's web service on port {port} is not answering. {detail} "
        "It may still be starting: wait a few seconds, then reload this page."
    )
    return render_template(
        "errors/error.html",
        status=502,
        title="The lab's web service is not answering",
        message=" ".join(message.split()),
    ), 502


# -- recordings: review, replay, live watch -------------------------------------------------------


@bp.get("/labs/recordings")
@login_required
def recordings_index():
    """Recent lab sessions with recordings, of the trainees this member of staff follows."""
    if not current_user.is_staff:
        abort(403, description="Only instructors and admins review lab sessions.")
    sessions = services.recent_sessions(visible_trainee_ids(current_user))
    return render_template("terminal/index.html", sessions=sessions)


@bp.get("/labs/trainees/<int:user_id>/sessions")
@login_required
def trainee_history(user_id: int):
    """A trainee's lab sessions, for their instructors (and themselves)."""
    trainee = db.session.get(User, user_id)
    if trainee is None:
        abort(404, description="There is no such person.")
    if current_user.id != trainee.id and not can_follow(current_user, trainee):
        abort(403, description="This person is not in a cohort of yours.")
    return render_template(
        "terminal/history.html", trainee=trainee, sessions=services.trainee_sessions(trainee.id)
    )


@bp.get("/labs/sessions/<int:session_id>/review")
@login_required
def session_review(session_id: int):
    """Replays of the session's terminals and the commands typed beside each task."""
    lab_session = lab_session_or_404(session_id)
    if not can_review(current_user, lab_session):
        abort(403, description="This lab session is not one you may review.")
    if not is_owner(current_user, lab_session):
        audit("recording.review", lab_session)
    review = services.session_review(lab_session)
    response = Response(
        render_template(
            "terminal/review.html",
            review=review,
            lab_session=lab_session,
            can_watch=can_follow(current_user, lab_session.user) and lab_session.status == RUNNING,
        )
    )
    response.headers["Content-Security-Policy"] = PLAYER_CSP
    return response


@bp.get("/labs/sessions/<int:session_id>/recordings/<int:recording_id>.cast")
@login_required
def recording_cast(session_id: int, recording_id: int):
    """The asciicast file of one terminal (for the replay player)."""
    lab_session = lab_session_or_404(session_id)
    if not can_review(current_user, lab_session):
        abort(403, description="This lab session is not one you may review.")
    recording = db.session.get(TerminalRecording, recording_id)
    if recording is None or recording.session_id != lab_session.id:
        abort(404, description="There is no such recording.")
    path = services.recording_file(recording)
    if not path.exists():
        abort(404, description="The recording file is missing.")
    return send_file(
        path,
        mimetype="application/x-asciicast",
        max_age=0,
        download_name=f"lab-{session_id}-terminal-{recording_id}.cast",
    )


@bp.get("/labs/sessions/<int:session_id>/watch")
@login_required
def watch(session_id: int):
    """Watch a trainee's running terminals, read-only."""
    lab_session = lab_session_or_404(session_id)
    if not can_follow(current_user, lab_session.user):
        abort(403, description="Only the trainee's instructors and admins may watch.")
    recordings = services.live_recordings(lab_session.id) if lab_session.status == RUNNING else []
    return render_template("terminal/watch.html", lab_session=lab_session, recordings=recordings)
