"""Many terminals at once, served by the real server (gunicorn with gunicorn.conf.py).

The old set-up held one gunicorn thread per open terminal (64 threads): the
65th terminal and every page waited. Here a crowd of terminals larger than
that is open at once, each echoing what it is sent, while another person's
pages are served; past the per-process capacity a new terminal is refused
with a clear message and pages still come.

The server runs in a subprocess on the test's database, with a tiny busybox
lab on the real engine. Session keys carry this module's own prefix and are
swept by label before and after.
"""

from __future__ import annotations

import ast
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import pytest
import requests

from lms import create_app
from lms.content.lab_parser import load_lab
from lms.extensions import db
from lms.labs.runtime import get_image_builder
from tests.conftest import PASSWORD, ROOT, reset_schema, test_config
from tests.lab_support import handshake_status
from tests.terminal_support import Shell, add_running_session, cookie_header, sweep_session_labs
from tests.terminal_support import sign_in as sign_in_as

pytestmark = pytest.mark.docker

KEY_PREFIX = f"tcap{uuid.uuid4().hex[:6]}-"
CROWD = 80  # more than the 64 threads that used to hold one terminal each
CROWD_LAB = {
    "lab.yaml": "title: Crowd\nnetwork: none\nlimits: {memory: 256m, pids: 512}\n",
    "Dockerfile": "FROM lms-base/busybox:latest\n",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with gunicorn.conf.py in a subprocess, on the test's app configuration."""

    def __init__(self, config: dict, log: Path, **environment: str):
        self.base = f"http://127.0.0.1:{free_port()}"
        factory = f"lms:create_app({config!r})"
        ast.parse(factory.split(":", 1)[1], mode="eval")  # gunicorn reads a literal call
        self.log = log
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                self.base[len("http://") :],
                factory,
            ],
            cwd=ROOT,
            # One worker: the capacity these tests fill is one process's.
            env={**os.environ, "LMS_RECONCILE_ON_START": "0", "LMS_WORKERS": "1", **environment},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own: stop() kills its worker too
        )
        for _ in range(300):
            with suppress(requests.RequestException):
                requests.get(f"{self.base}/login", timeout=5)
                return
            assert self.process.poll() is None, self.log_tail()
            time.sleep(0.1)
        raise AssertionError(f"the server did not start: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """kill -9 of master and worker: the tests assert nothing of the shutdown (the lab
        is swept after them), and after the crowd of terminals the worker took gunicorn's
        whole graceful_timeout (20 s) to exit, on SIGTERM as on SIGINT."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture(scope="module")
def crowd_lab(tmp_path_factory, docker_runtime, docker_client):
    """The app config (on the test database), people and a running crowd lab."""
    sweep_session_labs(docker_client, KEY_PREFIX)
    tmp = tmp_path_factory.mktemp("capacity")
    labs = tmp / "labs"
    for name, text in CROWD_LAB.items():
        (labs / "crowd" / name).parent.mkdir(parents=True, exist_ok=True)
        (labs / "crowd" / name).write_text(text)
    spec = load_lab(labs / "crowd")
    get_image_builder().build(spec)
    config = test_config(
        tmp,
        LMS_LABS_DIR=str(labs),
        LMS_RECORDINGS_DIR=str(tmp / "recordings"),
        LMS_LAB_SESSION_PREFIX=KEY_PREFIX,
        LMS_TERMINAL_MAX_TABS=CROWD + 10,
    )
    app = create_app(config)
    key = f"{KEY_PREFIX}{uuid.uuid4().hex[:8]}"
    try:
        with app.app_context():
            reset_schema()
            from lms.auth.services import create_user

            owner = create_user("owner@capacity.example.org", PASSWORD, role="trainee")
            create_user("reader@capacity.example.org", PASSWORD, role="trainee")
            create_user("admin@capacity.example.org", PASSWORD, role="platform_admin")
            db.session.commit()
            docker_runtime.start(key, spec, str(owner.id), [])
            session_id = add_running_session(key, owner.id, spec.slug)
        yield config, session_id, tmp
    finally:
        with suppress(Exception):
            docker_runtime.stop(key)
        sweep_session_labs(docker_client, KEY_PREFIX)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def serve(crowd_lab):
    """serve(capacity) -> a running gunicorn for the crowd lab; stopped after the test."""
    config, _, tmp = crowd_lab
    started: list[Server] = []

    def start(capacity: int) -> Server:
        server = Server(
            config,
            tmp / f"gunicorn-{len(started)}.log",
            LMS_MAX_TERMINALS_PER_PROCESS=str(capacity),
        )
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def sign_in(base: str, who: str) -> requests.Session:
    """A browser session signed in as one of this module's people."""
    return sign_in_as(base, f"{who}@capacity.example.org")


def open_terminal(base, browser, session_id, number: int) -> Shell:
    shell = Shell(base, browser, session_id, terminal=f"crowd{number:05d}")
    shell.message("hello", timeout=60)
    return shell


def echoes(shell: Shell, number: int) -> bool:
    shell.send(f"echo crowd-{number}-$(({number}*3))\r")
    shell.read_until(rf"crowd-{number}-{number * 3}\b", timeout=60)
    return True


def test_more_terminals_than_threads_each_echo_and_pages_are_served(crowd_lab, serve):
    _, session_id, _ = crowd_lab
    server = serve(capacity=CROWD + 20)
    owner = sign_in(server.base, "owner")
    reader = sign_in(server.base, "reader")
    shells: list[Shell] = []
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            shells = list(
                pool.map(lambda n: open_terminal(server.base, owner, session_id, n), range(CROWD))
            )
            assert len(shells) == CROWD
            # Another trainee's pages come while every terminal is open...
            assert reader.get(f"{server.base}/catalogue", timeout=30).status_code == 200
            # ...and every terminal answers.
            assert all(pool.map(echoes, shells, range(CROWD)))
        assert reader.get(f"{server.base}/catalogue", timeout=30).status_code == 200
        admin = sign_in(server.base, "admin")
        page = admin.get(f"{server.base}/labs/admin", timeout=30)
        assert page.status_code == 200
        assert f'id="labs-terminals">{CROWD} <span class="fs-6 text-muted">of {CROWD + 20}' in (
            page.text
        )
    finally:
        for shell in shells:
            with suppress(Exception):
                shell.control({"t": "close"})
            shell.close()
    assert server.process.poll() is None, server.log_tail()
    assert "Traceback" not in server.log_tail()


def recording_of(config: dict, terminal_key: str) -> int:
    from lms.terminal.models import TerminalRecording

    app = create_app(config)
    with app.app_context():
        recording_id = db.session.scalar(
            db.select(TerminalRecording.id).filter_by(terminal_key=terminal_key, ended_at=None)
        )
        db.engine.dispose()
    return recording_id


def test_a_full_process_refuses_new_terminals_clearly_and_serves_pages(crowd_lab, serve):
    config, session_id, _ = crowd_lab
    server = serve(capacity=2)
    base = server.base
    owner = sign_in(base, "owner")
    reader = sign_in(base, "reader")
    first = open_terminal(base, owner, session_id, 1)
    second = open_terminal(base, owner, session_id, 2)
    try:
        headers = {"Origin": base, "Cookie": cookie_header(owner)}
        path = f"/labs/sessions/{session_id}/terminal/ws?terminal=crowd00003"
        assert handshake_status(base, path, headers) == 503
        # The panel learns why (a browser shows scripts nothing of a refused handshake).
        check = f"{base}/labs/sessions/{session_id}/terminal/check?terminal=crowd00003"
        verdict = owner.get(check, timeout=30).json()
        assert verdict["ok"] is False and verdict["retry"] is True
        assert "The platform is full" in verdict["reason"] and "Try again" in verdict["reason"]
        # Pages are served; staff see the process full; a live watch needs room too.
        assert reader.get(f"{base}/catalogue", timeout=30).status_code == 200
        admin = sign_in(base, "admin")
        assert (
            'id="labs-terminals">2 <span class="fs-6 text-muted">of 2'
            in admin.get(f"{base}/labs/admin", timeout=30).text
        )
        watch = (
            f"/labs/sessions/{session_id}/terminal/ws?watch={recording_of(config, 'crowd00001')}"
        )
        assert (
            handshake_status(base, watch, {"Origin": base, "Cookie": cookie_header(admin)}) == 503
        )
        # Coming back to a shell already held is no new terminal: it is let in.
        second.ws.sock.close()  # a network blip
        again = Shell(base, owner, session_id, terminal="crowd00002", seen=0)
        assert again.message("hello", timeout=60)["reattached"] is True
        assert echoes(again, 2)
        again.close()
        # A closed terminal frees its room for the next one.
        first.control({"t": "close"})
        first.message("exit")
        for _ in range(50):
            if owner.get(check, timeout=30).json()["ok"]:
                break
            time.sleep(0.2)
        third = open_terminal(base, owner, session_id, 3)
        assert echoes(third, 3)
        third.control({"t": "close"})
        third.close()
    finally:
        first.close()
        second.close()
    assert "Traceback" not in server.log_tail()
