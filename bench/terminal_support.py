"""What the terminal benchmarks share: a gunicorn on the real configuration, a WebSocket
client, signing in, the LabSession row of a lab started straight on the runtime, figures.

Import it after putting the repository root on ``sys.path`` (the benchmarks do).
"""

from __future__ import annotations

import ast
import os
import socket
import subprocess
import sys
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import requests
from simple_websocket import Client

from lms.extensions import db

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WsClient(Client):
    """simple_websocket's client, sending the port in Host as browsers do."""

    def handshake(self):
        if self.port not in (80, 443):
            self.host = f"{self.host}:{self.port}"
        super().handshake()


def serve_gunicorn(config: dict, port: int, log: Path) -> subprocess.Popen:
    """gunicorn with gunicorn.conf.py on ``config``, its output in ``log``; once it answers."""
    factory = f"lms:create_app({config!r})"
    ast.parse(factory.split(":", 1)[1], mode="eval")  # gunicorn reads it as a literal call
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            factory,
        ],
        cwd=ROOT,
        env=dict(os.environ, LMS_RECONCILE_ON_START="0"),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        with suppress(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
            return server
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def sign_in(base: str, email: str) -> requests.Session:
    browser = requests.Session()
    answer = browser.post(
        f"{base}/login",
        data={"email": email, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"sign-in failed: {answer.status_code}")
    return browser


def cookie_header(browser: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies)


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
