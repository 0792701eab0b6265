"""Benchmark: keystroke echo round trip through the terminal bridge vs `docker exec` (not a test).

A shell-basics lab runs on the real engine. Two shells with a TTY in its
workstation, as the lab's user, both at a bash prompt:

- through the platform: a WebSocket to /labs/sessions/<id>/terminal/ws, served
  by gunicorn with gunicorn.conf.py (the production set-up), as xterm.js uses it;
- directly: a persistent `docker exec -it` socket on the engine's API;
- through the session holder alone: a `docker exec` attached to a held shell
  (dtach in the lab, as the platform opens it), without the web tier: what
  the holder's hop adds to a bare `docker exec`.

For each keystroke (a letter, then a backspace, so the line never grows) the
time from sending it to receiving its echo. Both are measured in the same run,
in interleaved blocks; figures: median, p95, mean, per path and the overhead.

    .venv/bin/python bench/terminal_echo.py [--keys 300] [--server gunicorn|werkzeug]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.terminal_support import (  # noqa: E402
    PASSWORD,
    free_port,
    percentile,
    serve_gunicorn,
)
from lms import create_app  # noqa: E402
from lms.config import TestingConfig  # noqa: E402
from lms.extensions import db  # noqa: E402
from tests.terminal_support import (  # noqa: E402
    WsClient,
    add_running_session,
    cookie_header,
    sign_in,
)

LAB = "shell-basics"
LETTERS = b"abcdefghijklmnopqrstuvwxyz"
BLOCK = 25
SERVERS = {"gunicorn": "gunicorn gevent (gunicorn.conf.py)", "werkzeug": "werkzeug threaded"}


# -- the two shells -------------------------------------------------------------------------


class BridgeShell:
    def __init__(self, base: str, cookie: str, session_id: int):
        url = (
            f"ws{base[4:]}/labs/sessions/{session_id}/terminal/ws"
            f"?terminal=bench{uuid.uuid4().hex[:12]}&cols=100&rows=30"
        )
        self.ws = WsClient.connect(url, headers={"Cookie": cookie, "Origin": base})

    def send(self, data: bytes) -> None:
        self.ws.send(data)

    def recv(self, timeout: float) -> bytes:
        message = self.ws.receive(timeout=timeout)
        return message if isinstance(message, bytes) else b""

    def close(self) -> None:
        with suppress(Exception):  # the server closes the socket itself
            self.ws.send(json.dumps({"t": "close"}))
            time.sleep(0.5)
            self.ws.close()


class DirectShell:
    def __init__(self, api, container_id: str, user: str, workdir: str):
        exec_id = api.exec_create(
            container_id,
            ["bash", "-l"],
            stdin=True,
            tty=True,
            user=user,
            workdir=workdir,
            environment=["TERM=xterm-256color"],
        )["Id"]
        raw = api.exec_start(exec_id, tty=True, socket=True)
        self._raw = raw
        self.sock = getattr(raw, "_sock", raw)
        api.exec_resize(exec_id, height=30, width=100)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self, timeout: float) -> bytes:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(65536)
        except TimeoutError:
            return b""

    def close(self) -> None:
        self.send(b"exit\r")
        self.sock.close()


def wait_for(shell, marker: bytes, timeout: float = 15.0) -> None:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{marker!r} never came: {seen[-300:]!r}")
        seen += shell.recv(0.5)


def drain(shell, quiet: float = 0.05) -> None:
    while shell.recv(quiet):
        pass


def round_trip(shell, key: bytes, echo: bytes, timeout: float = 5.0) -> float:
    began = time.perf_counter()
    shell.send(key)
    seen = b""
    while echo not in seen:
        chunk = shell.recv(timeout)
        if not chunk:
            raise RuntimeError(f"no echo of {key!r} within {timeout} s")
        seen += chunk
    return time.perf_counter() - began


def keystrokes(shell, count: int, offset: int) -> list[float]:
    """``count`` round trips: a letter, then a backspace (echoed as a cursor move back)."""
    times = []
    for number in range(count):
        if number % 2 == 0:
            letter = LETTERS[(offset + number // 2) % len(LETTERS)]
            times.append(round_trip(shell, bytes([letter]), bytes([letter])))
        else:
            times.append(round_trip(shell, b"\x7f", b"\x08"))
    drain(shell)
    return times


# -- the platform -----------------------------------------------------------------------------


def prepare(tmp: Path, prefix: str) -> dict:
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(
        LMS_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite'}",
        LMS_LABS_DIR=str(ROOT / "labs"),
        LMS_LAB_SESSION_PREFIX=prefix,
        LMS_RECORDINGS_DIR=str(tmp / "recordings"),
        RATELIMIT_ENABLED=False,
        LMS_REAPER_INTERVAL=0,
    )
    return config


def start_lab(app, key: str) -> tuple[int, str]:
    from lms.auth.services import create_user
    from lms.content.lab_library import get_spec
    from lms.labs import app_runtime

    with app.app_context():
        db.create_all()
        user = create_user("bench-terminal@example.org", PASSWORD, name="Bench")
        db.session.commit()
        spec = get_spec(LAB)
        runtime = app_runtime.lab_runtime()
        app_runtime.lab_image_builder().build(spec)
        runtime.start(key, spec, str(user.id), [])
        session_id = add_running_session(key, user.id, LAB)
        return session_id, runtime._container_id(key, spec.workstation)


def serve_werkzeug(app, port: int):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def report(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<34} n={len(ms):4d}  median {statistics.median(ms):6.2f} ms  "
        f"p95 {percentile(ms, 0.95):6.2f} ms  mean {statistics.fmean(ms):6.2f} ms  "
        f"min {min(ms):5.2f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=300, help="keystrokes per path (>= 200)")
    parser.add_argument("--server", choices=["gunicorn", "werkzeug"], default="gunicorn")
    args = parser.parse_args()

    prefix = f"bench-term-{uuid.uuid4().hex[:6]}-"
    key = f"{prefix}{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        config = prepare(Path(tmp), prefix)
        app = create_app(config)
        server = None
        try:
            session_id, container_id = start_lab(app, key)
            port = free_port()
            if args.server == "gunicorn":
                server = serve_gunicorn(config, port, Path(tmp) / "gunicorn.log")
            else:
                server = serve_werkzeug(app, port)
            base = f"http://127.0.0.1:{port}"
            cookie = cookie_header(sign_in(base, "bench-terminal@example.org", PASSWORD))

            from lms.labs import app_runtime

            with app.app_context():
                api = app_runtime.lab_runtime().api
            bridge = BridgeShell(base, cookie, session_id)
            direct = DirectShell(api, container_id, "trainee", "/home/trainee")
            with app.app_context():
                held = app_runtime.lab_runtime().open_shell(
                    key, "main", "trainee", "/home/trainee", 100, 30, name="bench-held"
                )
            for shell in (bridge, direct, held):
                shell.send(b"PS1='ready> '\r")
                wait_for(shell, b"ready> ")
                drain(shell, 0.2)
                keystrokes(shell, 20, 0)  # warm up

            results = {"bridge": [], "direct": [], "held": []}
            blocks = max(1, -(-args.keys // BLOCK))
            for number in range(blocks):
                order = [("bridge", bridge), ("direct", direct), ("held", held)]
                for name, shell in order if number % 2 == 0 else reversed(order):
                    results[name] += keystrokes(shell, BLOCK, number * BLOCK)
            bridge.close()
            direct.close()
            held.end()
        finally:
            if args.server == "gunicorn" and server is not None:
                server.terminate()
                server.wait(timeout=30)
            elif server is not None:
                server.shutdown()
            with app.app_context():
                from lms.labs import app_runtime

                app_runtime.lab_runtime().stop(key)
                db.session.remove()
                db.engine.dispose()

    bridge_ms = statistics.median(results["bridge"]) * 1000
    direct_ms = statistics.median(results["direct"]) * 1000
    print(
        f"keystroke echo round trip, lab {LAB}, server {SERVERS[args.server]}, "
        f"{args.keys} keystrokes per path, interleaved blocks of {BLOCK}"
    )
    print(report("through the bridge (WebSocket)", results["bridge"]))
    print(report("docker exec -it (API socket)", results["direct"]))
    print(report("docker exec + holder (dtach)", results["held"]))
    p95_gap = (percentile(results["bridge"], 0.95) - percentile(results["direct"], 0.95)) * 1000
    print(
        f"overhead of the bridge: median +{bridge_ms - direct_ms:.2f} ms "
        f"(x{bridge_ms / direct_ms:.2f}), p95 +{p95_gap:.2f} ms"
    )
    held_ms = statistics.median(results["held"]) * 1000
    print(f"the holder's hop: median +{held_ms - direct_ms:.2f} ms over docker exec")
    return 0


if __name__ == "__main__":
    sys.exit(main())
