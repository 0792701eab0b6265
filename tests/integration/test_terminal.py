"""The terminal bridge and the web access proxy on a real Docker engine and a live server.

Labs are started straight on the runtime with a LabSession row, so these tests
need only the terminal domain and the runtime. Their session keys have their
own prefix (``KEY_PREFIX``): other suites sweep theirs while these run, and
this module sweeps its own by label before and after, even when a test fails.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
import requests

from lms import create_app
from lms.extensions import db
from tests.conftest import PASSWORD, reset_schema, test_config
from tests.integration.conftest import flag_secrets
from tests.lab_support import handshake_status
from tests.terminal_support import (
    Shell,
    add_running_session,
    cookie_header,
    serving,
    sweep_session_labs,
)
from tests.terminal_support import sign_in as sign_in_as

pytestmark = pytest.mark.docker

KEY_PREFIX = "tterm-"
SHELL_FLAG = "FLAG{terminal-integration}"
WEB_FLAG = "FLAG{web-integration}"


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def swept(docker_client):
    sweep_session_labs(docker_client, KEY_PREFIX)
    try:
        yield
    finally:
        sweep_session_labs(docker_client, KEY_PREFIX)


@pytest.fixture(scope="module")
def server(tmp_path_factory, docker_runtime, shipped_labs):
    """A live server whose app uses the shared docker runtime; base URL, app."""
    tmp = tmp_path_factory.mktemp("terminal")
    app = create_app(
        test_config(
            tmp,
            LMS_TERMINAL_REATTACH_SECONDS=2,
            LMS_TERMINAL_PING_SECONDS=5,
            LMS_RECORDINGS_DIR=str(tmp / "recordings"),
        )
    )
    app.extensions["lab_runtime"] = docker_runtime
    with app.app_context():
        reset_schema()
    try:
        with serving(app) as base:
            yield base, app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="module")
def people(server):
    base, app = server
    from lms.auth.services import create_user

    made = {}
    with app.app_context():
        for name, role in [
            ("owner", "trainee"),
            ("other", "trainee"),
            ("admin", "platform_admin"),
            ("stranger", "instructor"),
        ]:
            made[name] = create_user(f"{name}@terminal.example.org", PASSWORD, role=role)
        db.session.commit()
        return {name: user.id for name, user in made.items()}


@pytest.fixture(scope="module")
def shell_lab(server, people, docker_runtime, shipped_labs):
    """shell-basics running for the owner: (LabSession id, session key)."""
    yield from _running_lab(
        server[1], docker_runtime, shipped_labs["shell-basics"], people["owner"], SHELL_FLAG
    )


@pytest.fixture(scope="module")
def web_lab(server, people, docker_runtime, shipped_labs):
    yield from _running_lab(
        server[1], docker_runtime, shipped_labs["web-injection"], people["owner"], WEB_FLAG
    )


def _running_lab(app, runtime, spec, user_id, flag):
    key = f"{KEY_PREFIX}{uuid.uuid4().hex[:12]}"
    runtime.start(key, spec, str(user_id), flag_secrets(spec, flag))
    try:
        with app.app_context():
            session_id = add_running_session(key, user_id, spec.slug)
        yield session_id, key
    finally:
        runtime.stop(key)


def sign_in(base: str, who: str):
    """A browser session signed in as one of this module's people."""
    return sign_in_as(base, f"{who}@terminal.example.org")


def shell_processes(lab_exec, key: str, shell_pid: str) -> list[str]:
    """Processes left of a shell: its session (job control groups included) and our sleeps."""
    _, output = lab_exec(key, "main", "ps -eo sid=,pid=,args=", user="0")
    left = []
    for line in output.splitlines():
        sid, pid, args = (line.split(None, 2) + ["", ""])[:3]
        if sid == shell_pid or pid == shell_pid or re.search(r"sleep 77\d", args):
            left.append(line.strip())
    return left


# -- the terminal -----------------------------------------------------------------------------


def test_owner_gets_a_shell_as_the_lab_user(server, people, shell_lab):
    base, _ = server
    session_id, _ = shell_lab
    shell = Shell(base, sign_in(base, "owner"), session_id, terminal="roundtrip01")
    try:
        assert shell.message("hello")["offset"] == 0
        shell.send("id -un; pwd; stty size\r")
        shell.read_until(r"trainee\r?\n/home/trainee\r?\n30 100")
        shell.control({"t": "resize", "cols": 120, "rows": 40})
        shell.send("stty size\r")
        shell.read_until(r"40 120")
        shell.send("cat ~/.secret/.flag\r")
        shell.read_until(re.escape(SHELL_FLAG))
        shell.control({"t": "ping"})
        assert shell.message("pong")
    finally:
        shell.control({"t": "close"})
        shell.close()


@pytest.mark.parametrize(
    "who, headers, expected",
    [
        ("other", {}, 403),  # another trainee
        ("owner", {"Origin": "http://evil.example"}, 403),
        ("owner", {"Origin": None}, 403),
        (None, {}, 403),  # not signed in
        ("admin", {}, 403),  # staff get no shell in a trainee's lab, only a watch
    ],
)
def test_socket_refused_before_upgrade(server, people, shell_lab, who, headers, expected):
    base, _ = server
    session_id, _ = shell_lab
    sent = {"Origin": base}
    if who:
        sent["Cookie"] = cookie_header(sign_in(base, who))
    sent.update(headers)
    sent = {k: v for k, v in sent.items() if v is not None}
    path = f"/labs/sessions/{session_id}/terminal/ws?terminal=refused0001"
    assert handshake_status(base, path, sent) == expected


def test_closing_the_terminal_kills_its_process_group(server, people, shell_lab, lab_exec):
    base, _ = server
    session_id, key = shell_lab
    shell = Shell(base, sign_in(base, "owner"), session_id, terminal="killtest01")
    try:
        shell.message("hello")
        shell.send("sleep 771 & (sleep 772 &) ; sh -c 'sleep 773' & echo started-$$\r")
        pid = shell.read_until(r"started-(\d+)").group(1)
        assert len(shell_processes(lab_exec, key, pid)) >= 4  # the shell and three sleeps
        shell.control({"t": "close"})
        shell.message("exit")
    finally:
        shell.close()
    assert _eventually(lambda: not shell_processes(lab_exec, key, pid)), shell_processes(
        lab_exec, key, pid
    )


def test_a_dropped_socket_reattaches_then_times_out(server, people, shell_lab, lab_exec):
    base, _ = server
    session_id, key = shell_lab
    browser = sign_in(base, "owner")
    first = Shell(base, browser, session_id, terminal="blip000001")
    first.send("echo pid=$$\r")
    pid = first.read_until(r"pid=(\d+)").group(1)
    seen = len(first.text.encode())
    first.ws.sock.close()  # a network blip: no close frame, no "close" message
    time.sleep(0.3)
    second = Shell(base, browser, session_id, terminal="blip000001", seen=seen)
    try:
        hello = second.message("hello")
        assert hello["reattached"] is True
        second.send("echo again=$$\r")
        assert second.read_until(r"again=(\d+)").group(1) == pid  # the same shell
    finally:
        second.ws.sock.close()  # gone for good: after the grace period, no shell is left
    assert shell_processes(lab_exec, key, pid)
    assert _eventually(lambda: not shell_processes(lab_exec, key, pid), timeout=15), (
        shell_processes(lab_exec, key, pid)
    )


def test_recording_commands_review_and_watch(server, people, shell_lab):
    base, app = server
    session_id, _ = shell_lab
    from lms.auth.models import utcnow
    from lms.labs.models import TaskAttempt
    from lms.terminal.models import AuditEvent, TerminalCommand, TerminalRecording

    owner = sign_in(base, "owner")
    shell = Shell(base, owner, session_id, terminal="record0001")
    try:
        shell.message("hello")
        shell.send("ls -a ~\r")
        shell.send("cat ~/.secret/.flga\x7f\x7fag\r")
        shell.read_until(re.escape(SHELL_FLAG))
        with app.app_context():
            recording = db.session.scalar(
                db.select(TerminalRecording).filter_by(terminal_key="record0001")
            )
            db.session.add(
                TaskAttempt(
                    session_id=session_id,
                    user_id=people["owner"],
                    lab_slug="shell-basics",
                    task_id="find-flag",
                    kind="flag",
                    success=True,
                    created_at=utcnow(),
                )
            )
            db.session.commit()
            recording_id = recording.id

        # staff watch it live, read-only; a stranger may not
        admin = sign_in(base, "admin")
        watch_path = f"/labs/sessions/{session_id}/terminal/ws?watch={recording_id}"
        stranger = {"Origin": base, "Cookie": cookie_header(sign_in(base, "stranger"))}
        assert handshake_status(base, watch_path, stranger) == 403
        watcher = Shell(base, admin, session_id, watch=recording_id)
        try:
            watcher.read_until(re.escape(SHELL_FLAG))  # what happened before
            shell.send("echo live-$((6*7))\r")
            watcher.read_until(r"live-42")  # and what happens now
            watcher.send("echo intruder\r")  # keys of a watcher go nowhere
            time.sleep(0.5)
            assert "intruder" not in shell.text
        finally:
            watcher.close()
        shell.control({"t": "close"})
        shell.message("exit")
    finally:
        shell.close()

    with app.app_context():
        assert _eventually(lambda: _fresh(TerminalRecording, recording_id).ended_at)
        recording = db.session.get(TerminalRecording, recording_id)
        texts = [
            c.text
            for c in db.session.scalars(
                db.select(TerminalCommand).filter_by(recording_id=recording_id)
            )
        ]
        assert texts[:2] == ["ls -a ~", "cat ~/.secret/.flag"]
        audited = db.session.scalars(
            db.select(AuditEvent.action).filter_by(session_id=session_id)
        ).all()
        assert "terminal.watch" in audited
        path = Path(app.config["LMS_RECORDINGS_DIR"]) / recording.path
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["version"] == 2 and header["width"] == 100 and header["height"] == 30
    events = [json.loads(line) for line in lines[1:]]
    assert {"o", "i"} <= {e[1] for e in events}
    assert SHELL_FLAG in "".join(e[2] for e in events if e[1] == "o")

    review = admin.get(f"{base}/labs/sessions/{session_id}/review")
    assert review.status_code == 200
    task = review.text.split('data-task="find-flag"')[1].split('data-task="')[0]
    assert "$ cat ~/.secret/.flag" in task
    assert "'wasm-unsafe-eval'" in review.headers["Content-Security-Policy"]
    cast = admin.get(f"{base}/labs/sessions/{session_id}/recordings/{recording_id}.cast")
    assert cast.status_code == 200 and cast.text.startswith('{"version": 2')
    assert (
        sign_in(base, "other")
        .get(f"{base}/labs/sessions/{session_id}/recordings/{recording_id}.cast")
        .status_code
        == 403
    )
    history = admin.get(f"{base}/labs/trainees/{people['owner']}/sessions")
    assert history.status_code == 200 and f"/labs/sessions/{session_id}/review" in history.text


def test_recording_stops_at_the_session_cap(server, people, shell_lab):
    base, app = server
    session_id, _ = shell_lab
    from lms.terminal.models import TerminalRecording

    app.config["LMS_RECORDING_MAX_BYTES"] = 64 * 1024
    try:
        shell = Shell(base, sign_in(base, "owner"), session_id, terminal="captest001")
        shell.message("hello")
        shell.send("seq 1 40000; echo done-$((1+1))\r")
        shell.read_until(r"done-2", timeout=20)
        shell.control({"t": "close"})
        shell.message("exit")
        shell.close()
    finally:
        app.config["LMS_RECORDING_MAX_BYTES"] = 8 * 1024 * 1024
    with app.app_context():

        def finished():
            db.session.expire_all()
            return db.session.scalar(
                db.select(TerminalRecording).filter_by(terminal_key="captest001")
            ).ended_at

        assert _eventually(finished)
        recording = db.session.scalar(
            db.select(TerminalRecording).filter_by(terminal_key="captest001")
        )
        assert recording.truncated
        folder = (Path(app.config["LMS_RECORDINGS_DIR"]) / recording.path).parent
        total = sum(p.stat().st_size for p in folder.glob("*.cast"))
        # the whole session's folder: the cap, plus at most a closing notice per terminal
        assert total <= 64 * 1024 + 200 * len(list(folder.glob("*.cast")))
        assert "size limit" in (folder.parent / recording.path).read_text()


# -- web access -------------------------------------------------------------------------------


def test_lab_web_service_through_the_platform(server, people, web_lab):
    base, _ = server
    session_id, _ = web_lab
    prefix = f"/labs/sessions/{session_id}/web/8080"
    owner = sign_in(base, "owner")

    bare = owner.get(base + prefix, allow_redirects=False)
    assert bare.status_code == 308 and bare.headers["Location"].endswith(prefix + "/")
    home = _eventually(lambda: _ok(owner.get(f"{base}{prefix}/")))
    assert "TinyShop" in home.text and 'href="static/style.css"' in home.text
    assert owner.get(f"{base}{prefix}/static/style.css").status_code == 200

    login = owner.post(
        f"{base}{prefix}/login",
        allow_redirects=False,
        headers={"Origin": base},
        data={"username": "admin' --", "password": "x"},
    )
    assert login.status_code == 303 and login.headers["Location"] == "admin"
    set_cookie = login.headers["Set-Cookie"]
    assert set_cookie.startswith("lab_session=") and f"Path={prefix}/" in set_cookie
    admin_page = owner.get(f"{base}{prefix}/admin")
    assert WEB_FLAG in admin_page.text
    # the platform's own session still works beside the lab's cookie of the same name
    assert (
        owner.get(f"{base}/labs/{'web-injection'}/terminal/state").json()["session"]["id"]
        == session_id
    )

    # nobody else: another trainee, staff, a page of another site
    assert sign_in(base, "other").get(f"{base}{prefix}/").status_code == 403
    assert sign_in(base, "admin").get(f"{base}{prefix}/").status_code == 403
    assert requests.get(f"{base}{prefix}/", allow_redirects=False, timeout=10).status_code in (
        302,
        401,
    )
    assert (
        owner.get(f"{base}{prefix}/", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    )
    assert (
        owner.post(
            f"{base}{prefix}/login",
            headers={"Origin": "http://evil.example"},
            data={"username": "a", "password": "b"},
        ).status_code
        == 403
    )
    # a port the lab does not declare
    assert owner.get(f"{base}/labs/sessions/{session_id}/web/22/").status_code == 404


def test_lab_web_service_down_is_a_clear_502(server, people, web_lab, docker_client):
    base, _ = server
    session_id, key = web_lab
    owner = sign_in(base, "owner")
    prefix = f"/labs/sessions/{session_id}/web/8080"
    _eventually(lambda: _ok(owner.get(f"{base}{prefix}/")))
    target = docker_client.containers.list(
        filters={"label": [f"lms.session={key}", "lms.container=target"]}
    )[0]
    target.kill()  # the lab app dies (and its container with it)
    answer = owner.get(f"{base}{prefix}/")
    assert answer.status_code == 502
    assert "not answering" in answer.text


# -- the end of a terminal ------------------------------------------------------------------


def test_an_idle_terminal_is_closed(server, people, shell_lab, lab_exec):
    base, app = server
    session_id, key = shell_lab
    app.config["LMS_TERMINAL_IDLE_MINUTES"] = 0.05  # 3 seconds
    try:
        shell = Shell(base, sign_in(base, "owner"), session_id, terminal="idletest01")
        shell.send("echo idle=$$\r")
        pid = shell.read_until(r"idle=(\d+)").group(1)
        assert "without a keystroke" in shell.message("exit", timeout=15)["reason"]
        shell.close()
    finally:
        app.config["LMS_TERMINAL_IDLE_MINUTES"] = 30
    assert _eventually(lambda: not shell_processes(lab_exec, key, pid))


def test_stopping_the_lab_ends_its_terminals(server, people, shell_lab, docker_runtime):
    """Last of the shell-lab tests: it stops that lab."""
    base, app = server
    session_id, key = shell_lab
    from lms.labs.models import LabSession
    from lms.terminal.models import TerminalRecording

    shell = Shell(base, sign_in(base, "owner"), session_id, terminal="labstop001")
    shell.send("echo before-stop\r")
    shell.read_until("before-stop")
    with app.app_context():
        db.session.get(LabSession, session_id).status = "stopped"
        db.session.commit()
    docker_runtime.stop(key)
    reason = shell.message("exit", timeout=20)["reason"]
    assert reason in ("The shell has exited.", "The lab has stopped.")
    shell.close()
    with app.app_context():
        recording = db.session.scalar(
            db.select(TerminalRecording).filter_by(terminal_key="labstop001")
        )
        assert _eventually(lambda: _fresh(TerminalRecording, recording.id).ended_at)


# -- helpers ------------------------------------------------------------------------------------


def _fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def _ok(response):
    return response if response.status_code == 200 else None


def _eventually(check, timeout: float = 10.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)
