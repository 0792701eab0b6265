"""Terminal shells that outlive the WebSocket and the web process, on the real engine.

Two real web servers (gunicorn with gunicorn.conf.py, in subprocesses) serve one
database, as two workers or hosts behind a load balancer would. A terminal
opened through one is re-attached through the other with its shell (same pid,
same variables) and its recording goes on; a server killed with ``kill -9`` in
the middle of a session is restarted and the shell is still there; closing the
terminal ends the shell and its holder; a terminal whose process died is ended
by ``end_abandoned_terminals`` (the reaper's).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from lms import create_app
from lms.extensions import db
from tests.conftest import PASSWORD, reset_schema, test_config
from tests.terminal_support import (
    GunicornServer,
    Shell,
    add_running_session,
    sign_in,
    sweep_session_labs,
)

pytestmark = pytest.mark.docker

KEY_PREFIX = "tshells-"
OWNER = "owner@shells.example.org"
ADMIN = "admin@shells.example.org"


@pytest.fixture(scope="module")
def platform(tmp_path_factory, docker_runtime, docker_client, shipped_labs):
    """A running shell-basics lab, its app config and an app on the same database."""
    sweep_session_labs(docker_client, KEY_PREFIX)
    tmp = tmp_path_factory.mktemp("shells")
    config = test_config(tmp, LMS_RECORDINGS_DIR=str(tmp / "recordings"))
    app = create_app(config)
    app.extensions["lab_runtime"] = docker_runtime
    spec = shipped_labs["shell-basics"]
    key = f"{KEY_PREFIX}{uuid.uuid4().hex[:10]}"
    try:
        with app.app_context():
            reset_schema()
            from lms.auth.services import create_user

            owner = create_user(OWNER, PASSWORD, role="trainee")
            create_user(ADMIN, PASSWORD, role="platform_admin")
            db.session.commit()
            docker_runtime.start(key, spec, str(owner.id), [])
            session_id = add_running_session(key, owner.id, spec.slug)
        yield config, app, session_id, key, tmp
    finally:
        sweep_session_labs(docker_client, KEY_PREFIX)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def servers(platform):
    """start() -> a new gunicorn on the platform's database; all stopped after the test."""
    config, _, _, _, tmp = platform
    started: list[GunicornServer] = []

    def start() -> GunicornServer:
        server = GunicornServer(config, tmp / f"gunicorn-{uuid.uuid4().hex[:6]}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()  # their terminals' shells go with the lab, swept at the end


def holders(lab_exec, key: str) -> list[str]:
    """The session holder's processes (dtach) in the lab's workstation."""
    _, output = lab_exec(key, "main", "ps -eo pid=,sid=,args=", user="0")
    return [line.strip() for line in output.splitlines() if "dtach" in line]


def recording_of(app, terminal: str):
    from lms.terminal.models import TerminalRecording

    with app.app_context():
        db.session.expire_all()
        rows = db.session.scalars(
            db.select(TerminalRecording).filter_by(terminal_key=terminal)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def test_a_terminal_moves_to_another_process_with_its_shell_and_recording(
    platform, servers, lab_exec
):
    config, app, session_id, key, _ = platform
    first, second = servers(), servers()
    browser_a, browser_b = sign_in(first.base, OWNER), sign_in(second.base, OWNER)

    shell = Shell(first.base, browser_a, session_id, terminal="moving0001")
    shell.send("SECRET_WORD=kept-$((40+2)); echo pid=$$\r")
    pid = shell.read_until(r"pid=(\d+)").group(1)
    (recording,) = recording_of(app, "moving0001")

    # staff watch it read-only through the other process
    watcher = Shell(second.base, sign_in(second.base, ADMIN), session_id, watch=recording.id)
    try:
        shell.send("echo watched-$((6*7))\r")
        watcher.read_until(r"watched-42")
    finally:
        watcher.close()

    seen = len(shell.text.encode())
    shell.ws.sock.close()  # the connection drops; the reconnect lands on the other server
    moved = Shell(second.base, browser_b, session_id, terminal="moving0001", seen=seen)
    try:
        hello = moved.message("hello")
        assert hello["reattached"] is True and hello["offset"] == seen
        moved.send("echo again=$$ word=$SECRET_WORD\r")
        found = moved.read_until(r"again=(\d+) word=(\S+)\r")
        assert found.group(1) == pid and found.group(2) == "kept-42"
    finally:
        moved.control({"t": "close"})
        moved.message("exit")
        moved.close()

    # one recording, both parts in it, valid asciicast v2 with times that only go on
    assert _eventually(lambda: recording_of(app, "moving0001")[0].ended_at)
    (recording,) = recording_of(app, "moving0001")
    assert recording.end_reason == "Closed by the trainee."
    lines = (Path(config["LMS_RECORDINGS_DIR"]) / recording.path).read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    events = [json.loads(line) for line in lines[1:]]
    times = [event[0] for event in events]
    assert times == sorted(times)
    output = "".join(event[2] for event in events if event[1] == "o")
    assert f"pid={pid}" in output and "again=" in output and "word=kept-42" in output
    from lms.terminal.models import TerminalCommand

    with app.app_context():
        typed = db.session.scalars(
            db.select(TerminalCommand.text).filter_by(recording_id=recording.id)
        ).all()
    assert any(text.startswith("SECRET_WORD=") for text in typed)  # through the first
    assert "echo again=$$ word=$SECRET_WORD" in typed  # through the second

    # closing the terminal ended the shell and its holder
    assert _eventually(lambda: not holders(lab_exec, key)), holders(lab_exec, key)
    _, left = lab_exec(key, "main", f"ps -eo sid= | grep -cx ' *{pid}' || true", user="0")
    assert left.strip() == "0"


def test_a_killed_web_server_leaves_the_shell_for_the_next_one(
    platform, servers, lab_exec, docker_runtime
):
    _, app, session_id, key, _ = platform
    server = servers()
    shell = Shell(server.base, sign_in(server.base, OWNER), session_id, terminal="crash00001")
    shell.send("cd /tmp; COUNT=7; sleep 7777 & echo pid=$$\r")
    pid = shell.read_until(r"pid=(\d+)").group(1)

    server.kill()  # kill -9: no exit hook runs
    shell.close()
    restarted = servers()
    # the page is reloaded: it has seen nothing, and gets its screen back
    back = Shell(restarted.base, sign_in(restarted.base, OWNER), session_id, "crash00001")
    try:
        assert back.message("hello")["reattached"] is True
        back.read_until(rf"pid={pid}")
        back.send("echo back=$$ count=$COUNT dir=$PWD job=$(kill -0 $! && echo alive)\r")
        found = back.read_until(r"back=(\d+) count=(\d+) dir=(\S+) job=(\w+)")
        assert found.groups() == (pid, "7", "/tmp", "alive")
    finally:
        restarted.kill()  # and again: nobody serves the terminal now
        back.close()
    assert holders(lab_exec, key)

    # its heartbeat gets old: the reaper's call ends it, holder and all
    from lms.auth.models import utcnow
    from lms.terminal import services
    from lms.terminal.models import TerminalRecording

    with app.app_context():
        (recording,) = recording_of(app, "crash00001")
        db.session.execute(
            db.update(TerminalRecording)
            .where(TerminalRecording.id == recording.id)
            .values(heartbeat_at=utcnow() - timedelta(hours=1))
        )
        db.session.commit()
        assert services.end_abandoned_terminals() == 1
    (recording,) = recording_of(app, "crash00001")
    assert recording.end_reason == "The browser did not come back."
    assert _eventually(lambda: not holders(lab_exec, key)), holders(lab_exec, key)
    _, left = lab_exec(key, "main", "ps -eo args=", user="0")
    assert "sleep 7777" not in left


def _eventually(check, timeout: float = 15.0, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
