"""What the terminal benchmarks share: a gunicorn on the real configuration, figures.
The WebSocket client, signing in and the LabSession row of a lab started straight on
the runtime are the terminal tests' own (tests/terminal_support.py).

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
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
        # One worker: the terminal benchmarks measure one process.
        env=dict(os.environ, LMS_RECONCILE_ON_START="0", LMS_WORKERS="1"),
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
