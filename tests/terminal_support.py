"""Helpers for the terminal tests: a WebSocket shell client, signing in, lab rows, sweeps.

The terminal suites start labs straight on the runtime and add the LabSession
row themselves; each sweeps the containers and networks of its own session-key
prefix (found by label), even when a test fails.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from datetime import timedelta

import requests
from simple_websocket import Client, ConnectionClosed
from werkzeug.serving import make_server

from lms.extensions import db
from lms.labs.runtime import LABEL_PLATFORM, LABEL_SESSION, PLATFORM_NAME
from tests.conftest import PASSWORD, ROOT


def sweep_session_labs(client, key_prefix: str) -> None:
    """Remove the lab containers and networks whose session key starts with key_prefix."""
    platform = {"label": [f"{LABEL_PLATFORM}={PLATFORM_NAME}"]}
    # ignore_removed: other suites remove their containers meanwhile
    for container in client.containers.list(all=True, filters=platform, ignore_removed=True):
        if container.labels.get(LABEL_SESSION, "").startswith(key_prefix):
            with suppress(Exception):
                container.remove(force=True, v=True)
    for network in client.networks.list(filters=platform):
        if (network.attrs.get("Labels") or {}).get(LABEL_SESSION, "").startswith(key_prefix):
            with suppress(Exception):
                network.remove()


def add_running_session(key: str, user_id: int, lab_slug: str) -> int:
    """The LabSession row of a lab started straight on the runtime (in an app context): its id."""
    from lms.auth.models import utcnow
    from lms.labs.models import LabSession

    row = LabSession(
        key=key,
        user_id=user_id,
        lab_slug=lab_slug,
        status="running",
        started_at=utcnow(),
        expires_at=utcnow() + timedelta(hours=1),
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def serve_in_thread(app):
    """A live threaded werkzeug server for app: (base URL, server to shut down)."""
    live = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=live.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{live.server_port}", live


@contextmanager
def serving(app):
    """A live threaded server for app, its base URL; afterwards its terminals are closed."""
    base, live = serve_in_thread(app)
    try:
        yield base
    finally:
        from lms.terminal.bridge import hub

        hub.close_all()
        live.shutdown()


class GunicornServer:
    """gunicorn with gunicorn.conf.py on an app configuration, in a process group of its
    own (so that ``kill`` is a crash of the whole server, master and workers)."""

    def __init__(self, config: dict, log, **environment: str):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base = f"http://127.0.0.1:{port}"
        factory = f"lms:create_app({config!r})"
        ast.parse(factory.split(":", 1)[1], mode="eval")  # gunicorn reads a literal call
        self.log = log
        self.process = subprocess.Popen(
            [
                str(os.path.join(os.path.dirname(sys.executable), "gunicorn")),
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{port}",
                factory,
            ],
            cwd=ROOT,
            env={**os.environ, "LMS_RECONCILE_ON_START": "0", "LMS_WORKERS": "1", **environment},
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(300):
            with suppress(requests.RequestException):
                requests.get(f"{self.base}/login", timeout=5)
                return
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        self.kill()
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        """kill -9 of the server: nothing of it runs its exit hooks."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def sign_in(base: str, email: str, password: str = PASSWORD) -> requests.Session:
    """A requests session signed in (with the test password unless told)."""
    browser = requests.Session()
    answer = browser.post(
        f"{base}/login",
        data={"email": email, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code in (302, 303), answer.text[:300]
    return browser


def cookie_header(browser: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


class WsClient(Client):
    """simple_websocket's client, sending the port in Host as browsers do."""

    def handshake(self):
        if self.port not in (80, 443):
            self.host = f"{self.host}:{self.port}"
        super().handshake()


class Shell:
    """A WebSocket terminal client: keystrokes up, the screen's text down."""

    def __init__(self, base, browser, session_id, terminal="abcdef0123456789", seen=0, watch=None):
        query = f"watch={watch}" if watch else f"terminal={terminal}&seen={seen}&cols=100&rows=30"
        url = f"ws{base[4:]}/labs/sessions/{session_id}/terminal/ws?{query}"
        self.ws = WsClient.connect(url, headers={"Cookie": cookie_header(browser), "Origin": base})
        self.text = ""
        self.messages: list[dict] = []

    def send(self, keys: str) -> None:
        self.ws.send(keys.encode())

    def control(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def read_until(self, pattern: str, timeout: float = 10.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} not seen in {self.text[-800:]!r}")
            try:
                message = self.ws.receive(timeout=0.5)
            except ConnectionClosed as exc:
                raise AssertionError(f"{pattern!r} not seen before the socket closed") from exc
            if isinstance(message, bytes):
                self.text += message.decode("utf-8", "replace")
            elif message is not None:
                self.messages.append(json.loads(message))

    def message(self, kind: str, timeout: float = 10.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.messages if m.get("t") == kind]
            if found:
                return found[0]
            with suppress(AssertionError):
                self.read_until(r"(?!x)x", timeout=0.5)
        raise AssertionError(f"no {kind} message: {self.messages}")

    def close(self) -> None:
        with suppress(Exception):
            self.ws.close()
