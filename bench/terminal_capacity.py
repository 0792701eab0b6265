"""Benchmark: many terminals open at once on one server process (not a test).

The production server (gunicorn with gunicorn.conf.py) serves a platform
whose labs run on the real engine (small busybox labs, 100 terminals each).
Clients behave like browsers: each terminal answers the server's WebSocket
pings and sends the panel's JSON ping every 15 s. For one terminal alone,
then 100, then 300 open at once:

- how many terminals opened (of those asked for);
- keystroke echo round trip (a letter, then a backspace) across every open
  terminal in turn: p50 / p95, against one terminal alone (goal: p95 <= 10 ms
  at 100);
- an ordinary page (the catalogue, signed in) p50 / p95 while they are open,
  against none open (goal: p95 <= 2x);
- the server worker's resident memory per open terminal.

    .venv/bin/python bench/terminal_capacity.py [--counts 100 300] [--pages 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path

import requests

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

PER_LAB = 100  # terminals per lab container (its process limit is 512)
PANEL_PING_SECONDS = 15
CROWD_LAB = {
    "lab.yaml": "title: Crowd\nnetwork: none\nlimits: {memory: 512m, pids: 512}\n",
    "Dockerfile": "FROM lms-base/busybox:latest\n",
}


# -- the platform -----------------------------------------------------------------------------


def prepare(tmp: Path, prefix: str, labs: Path) -> dict:
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(
        LMS_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite'}",
        LMS_LABS_DIR=str(labs),
        LMS_LAB_SESSION_PREFIX=prefix,
        LMS_RECORDINGS_DIR=str(tmp / "recordings"),
        LMS_TERMINAL_MAX_TABS=1000,
        LMS_TERMINAL_PING_SECONDS=10,
        RATELIMIT_ENABLED=False,
        LMS_REAPER_INTERVAL=0,
    )
    return config


def start_labs(app, prefix: str, count: int) -> list[tuple[int, str]]:
    """``count`` running crowd labs, one per trainee: (LabSession id, trainee's email)."""
    from lms.auth.services import create_user
    from lms.content.lab_library import get_spec
    from lms.labs import app_runtime

    with app.app_context():
        db.create_all()
        create_user("reader@bench.example.org", PASSWORD, name="Reader")
        db.session.commit()
        spec = get_spec("crowd")
        runtime = app_runtime.lab_runtime()
        app_runtime.lab_image_builder().build(spec)
        labs = []
        for number in range(count):
            email = f"crowd{number}@bench.example.org"
            user = create_user(email, PASSWORD, name=f"Crowd {number}")
            db.session.commit()
            key = f"{prefix}{number}-{uuid.uuid4().hex[:6]}"
            runtime.start(key, spec, str(user.id), [])
            labs.append((add_running_session(key, user.id, "crowd"), email))
        return labs


def worker_rss(master: int) -> int:
    """Resident memory (bytes) of the server's worker processes."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def worker_cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the server's worker processes."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    ticks = 0
    for pid in children:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def busy_share(master: int, measure) -> tuple[list[float], float]:
    """Run ``measure()``; its result and the share of one core the worker used meanwhile."""
    cpu, began = worker_cpu_seconds(master), time.monotonic()
    result = measure()
    return result, (worker_cpu_seconds(master) - cpu) / (time.monotonic() - began)


def idle_share(master: int, seconds: float = 10.0) -> float:
    """The share of one core the worker uses while nobody types or loads a page."""
    return busy_share(master, lambda: time.sleep(seconds))[1]


# -- terminals ---------------------------------------------------------------------------------


class Terminal:
    """A WebSocket terminal that behaves like the panel (it answers pings)."""

    def __init__(self, base: str, cookie: str, session_id: int):
        url = (
            f"ws{base[4:]}/labs/sessions/{session_id}/terminal/ws"
            f"?terminal=crowd{uuid.uuid4().hex[:12]}&cols=100&rows=30"
        )
        self.ws = WsClient.connect(url, headers={"Cookie": cookie, "Origin": base})
        self.wait_for(b"# ")  # the shell's prompt

    def recv(self, timeout: float) -> bytes:
        while True:
            message = self.ws.receive(timeout=timeout)
            if message is None:
                return b""
            if isinstance(message, bytes):
                return message
            # JSON control messages (hello, pong) are not screen output; an exit is the end
            control = json.loads(message)
            if control.get("t") == "exit":
                raise RuntimeError(control.get("reason"))

    def wait_for(self, marker: bytes, timeout: float = 60.0) -> None:
        seen, deadline = b"", time.monotonic() + timeout
        while marker not in seen:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{marker!r} never came: {seen[-200:]!r}")
            seen += self.recv(0.5)

    def round_trip(self, key: bytes, echo: bytes) -> float:
        began = time.perf_counter()
        self.ws.send(key)
        seen = b""
        while echo not in seen:
            chunk = self.recv(10.0)
            if not chunk:
                raise RuntimeError(f"no echo of {key!r}")
            seen += chunk
        return time.perf_counter() - began

    def keystrokes(self) -> list[float]:
        return [self.round_trip(b"x", b"x"), self.round_trip(b"\x7f", b"\x08")]

    def ping(self) -> None:
        with suppress(Exception):
            self.ws.send(json.dumps({"t": "ping"}))

    def close(self) -> None:
        with suppress(Exception):
            self.ws.send(json.dumps({"t": "close"}))
        with suppress(Exception):
            self.ws.close()


class PanelPings:
    """Every open terminal sends the panel's JSON ping every 15 s (spread over the period)."""

    def __init__(self, terminals: list[Terminal]):
        self.terminals = terminals
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            terminals = list(self.terminals)
            gap = PANEL_PING_SECONDS / max(1, len(terminals))
            for terminal in terminals:
                if self.stopping.wait(gap):
                    return
                terminal.ping()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()


def open_many(base: str, labs: list[tuple[int, str]], count: int) -> list[Terminal]:
    """``count`` terminals, ``PER_LAB`` in each lab; labs: (session id, owner's cookie)."""

    def one(number: int) -> Terminal | None:
        session_id, cookie = labs[number // PER_LAB]
        try:
            return Terminal(base, cookie, session_id)
        except Exception as exc:  # counted as not opened
            print(f"  terminal {number} did not open: {exc}", flush=True)
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return [t for t in pool.map(one, range(count)) if t is not None]


def echo_times(terminals: list[Terminal], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for terminal in terminals:
            times += terminal.keystrokes()
    return times


def page_times(browser: requests.Session, url: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        began = time.perf_counter()
        answer = browser.get(url, timeout=60)
        times.append(time.perf_counter() - began)
        if answer.status_code != 200:
            raise RuntimeError(f"{url}: {answer.status_code}")
    return times


def figures(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"p50 {statistics.median(ms):6.2f} ms  p95 {percentile(ms, 0.95):6.2f} ms  (n={len(ms)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[100, 300])
    parser.add_argument("--pages", type=int, default=200, help="page requests per measure")
    args = parser.parse_args()

    prefix = f"bench-crowd-{uuid.uuid4().hex[:6]}-"
    # Each measure has labs of its own: shells closing in one do not slow the next.
    labs_needed = sum(-(-count // PER_LAB) for count in args.counts)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for name, text in CROWD_LAB.items():
            (tmp / "labs" / "crowd").mkdir(parents=True, exist_ok=True)
            (tmp / "labs" / "crowd" / name).write_text(text)
        config = prepare(tmp, prefix, tmp / "labs")
        app = create_app(config)
        server = None
        try:
            started = start_labs(app, prefix, labs_needed)
            port = free_port()
            server = serve_gunicorn(config, port, tmp / "gunicorn.log")
            base = f"http://127.0.0.1:{port}"
            labs = [
                (session_id, cookie_header(sign_in(base, email, PASSWORD)))
                for session_id, email in started
            ]
            reader = sign_in(base, "reader@bench.example.org", PASSWORD)
            page = f"{base}/catalogue"
            page_times(reader, page, 20)  # warm up

            print(
                f"terminals on one gunicorn process ({server.pid}), gunicorn.conf.py; "
                f"busybox labs, {PER_LAB} terminals each; {args.pages} catalogue requests "
                "per measure",
                flush=True,
            )
            idle_pages, cpu = busy_share(server.pid, lambda: page_times(reader, page, args.pages))
            print(
                f"catalogue, no terminal open:      {figures(idle_pages)}  "
                f"worker CPU {cpu:.0%} of a core; idle {idle_share(server.pid):.1%}",
                flush=True,
            )
            alone = open_many(base, labs, 1)
            alone[0].keystrokes()  # warm up
            alone_echo = echo_times(alone, 100)
            print(f"echo, one terminal alone:         {figures(alone_echo)}", flush=True)
            alone[0].close()
            time.sleep(1)
            rss_before = worker_rss(server.pid)

            first_lab = 0
            for count in args.counts:
                began = time.monotonic()
                terminals = open_many(base, labs[first_lab:], count)
                first_lab += -(-count // PER_LAB)
                opened_in = time.monotonic() - began
                pings = PanelPings(terminals)
                time.sleep(2)
                rss = worker_rss(server.pid)
                echo = echo_times(terminals, max(1, 300 // len(terminals)))
                idle = idle_share(server.pid)
                pages, cpu = busy_share(server.pid, lambda: page_times(reader, page, args.pages))
                pings.stop()
                per_terminal = (rss - rss_before) / max(1, len(terminals))
                print(
                    f"{count} asked: {len(terminals)} open (in {opened_in:.1f} s); "
                    f"worker RSS {rss_before / 2**20:.0f} -> {rss / 2**20:.0f} MiB, "
                    f"{per_terminal / 1024:.0f} KiB per open terminal",
                    flush=True,
                )
                print(f"  echo across all of them:        {figures(echo)}", flush=True)
                ratio = percentile(pages, 0.95) / percentile(idle_pages, 0.95)
                print(
                    f"  catalogue while they are open:  {figures(pages)}  "
                    f"(p95 x{ratio:.2f} of none open)  worker CPU {cpu:.0%} of a core",
                    flush=True,
                )
                print(
                    f"  worker CPU with them open, nobody typing: {idle:.1%} of a core", flush=True
                )
                for terminal in terminals:
                    terminal.close()
                time.sleep(5)
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=60)
            with app.app_context():
                from lms.labs import app_runtime

                app_runtime.lab_runtime().remove_orphans(set(), key_prefix=prefix)
                db.session.remove()
                db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
