"""Module page throughput under gunicorn, against a bare Flask app serving the same bytes.

Each server runs with gunicorn.conf.py's settings (worker class, workers, keep-alive,
logging), in the same run, in alternating rounds; the load is the same: ``--clients``
processes, each on one keep-alive connection, asking for pages one after another for
``--seconds``. Prints requests per second of each, their ratio, and the SQL queries
and writes of one module page view. A third server, the platform with an empty
signed-in page (bench/_floor_app.py), shows the floor every signed-in page pays.

    .venv/bin/python bench/module_page.py [--clients 4] [--seconds 5] [--rounds 3]

Everything lives in a throw-away folder: a SQLite database with the shipped courses
and one trainee. The lab engine is pointed at a socket that does not exist.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FLOOR_URL = "/bench/floor"  # bench/_floor_app.py
EMAIL, PASSWORD = "bench-trainee@example.org", "bench-password-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        run(args, Path(tmp))


def run(args, tmp: Path) -> None:
    env = _environment(tmp)
    module_url = _prepare_database(env)
    queries, writes = _count_queries(env, module_url)
    print(f"module: {module_url}")
    print(f"one module page view (after the first): {queries} SQL queries, {writes} writes")

    page_file = tmp / "page.html"
    lms_port, bare_port, floor_port = _free_port(), _free_port(), _free_port()
    bare_env = {**env, "BENCH_PAGE_FILE": str(page_file), "PYTHONPATH": str(ROOT / "bench")}
    with _gunicorn(env, lms_port, "lms:create_app()"):
        cookie = _sign_in(lms_port)
        status, body = _get(lms_port, module_url, cookie)
        assert status == 200, f"module page answered {status}"
        page_file.write_bytes(body)
        with (
            _gunicorn(bare_env, bare_port, "_bare_app:app"),
            _gunicorn(bare_env, floor_port, "_floor_app:app"),
        ):
            assert _get(bare_port, module_url, "")[1] == body
            floor_cookie = _sign_in(floor_port)
            assert _get(floor_port, FLOOR_URL, floor_cookie)[0] == 200
            targets = {
                "bare Flask": (bare_port, module_url, ""),
                "module page": (lms_port, module_url, cookie),
                "floor": (floor_port, FLOOR_URL, floor_cookie),
            }
            # Rounds alternate, so that the machine's other load falls on all alike.
            rates = {label: [] for label in targets}
            for _round in range(args.rounds):
                for label, (port, path, session) in targets.items():
                    rates[label].append(_load(port, path, session, args))

    print(
        f"gunicorn -c gunicorn.conf.py, {args.clients} clients on keep-alive connections, "
        f"{args.rounds} alternating rounds of {args.seconds:.0f} s, {len(body) / 1024:.0f} KiB page"
    )
    best = {label: max(values) for label, values in rates.items()}
    for label, values in rates.items():
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"{label:12} {best[label]:7.0f} requests/s (best round; rounds: {rounds})")
    print(
        f"ratio module page / bare Flask: {best['module page'] / best['bare Flask']:.2f} "
        "(goal >= 0.5)"
    )
    print(
        "for scale, the platform's floor (bench/_floor_app.py: a signed-in page that renders "
        f"nothing) / bare Flask: {best['floor'] / best['bare Flask']:.2f}"
    )


def _environment(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "FLASK_"))}
    env.update(
        LMS_DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite'}",
        LMS_SECRET_KEY="bench-secret-key-not-for-production",
        LMS_COURSES_DIR=str(ROOT / "courses"),
        LMS_DOCKER_URL=f"unix://{tmp / 'no-engine.sock'}",
        LMS_RECONCILE_ON_START="0",
        LMS_RATELIMIT_STORAGE_URI="memory://",
    )
    return env


def _app(env: dict[str, str]):
    from lms import create_app

    keys = [k for k in env if k.startswith("LMS_")]
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys})
    try:
        return create_app(
            {"RATELIMIT_ENABLED": False, "LMS_REAPER_INTERVAL": 0, "WTF_CSRF_ENABLED": False}
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _prepare_database(env: dict[str, str]) -> str:
    """A fresh database with the shipped courses and the trainee; the address of the
    module to read: the first one with a quiz and no lab (the lab panel belongs to the
    labs domain and reads the lab's state; a module with one costs more)."""
    from sqlalchemy import select

    from lms.auth.services import create_user
    from lms.catalog.models import Course, Module
    from lms.catalog.services import sync_courses
    from lms.extensions import db

    app = _app(env)
    with app.app_context():
        db.create_all()
        report = sync_courses(env["LMS_COURSES_DIR"])
        assert not report.issues, report.issues
        create_user(EMAIL, PASSWORD, role="trainee")
        db.session.commit()
        modules = db.session.scalars(
            select(Module).join(Course).order_by(Course.slug, Module.position)
        ).all()
        live = [m for m in modules if not m.retired]
        module = next((m for m in live if m.quiz and not m.lab_slug), live[0])
        url = f"/courses/{module.course.slug}/{module.slug}"
        db.engine.dispose()
    return url


def _count_queries(env: dict[str, str], module_url: str) -> tuple[int, int]:
    """Statements of one module page view through the test client, the visit already made."""
    from sqlalchemy import event

    from lms.extensions import db

    app = _app(env)
    client = app.test_client()
    client.post("/login", data={"email": EMAIL, "password": PASSWORD})
    assert client.get(module_url).status_code == 200
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *a: statements.append(a[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    client.get(module_url)
    event.remove(engine, "before_cursor_execute", listener)
    writes = [s for s in statements if not s.lstrip().upper().startswith("SELECT")]
    with app.app_context():
        db.engine.dispose()
    return len(statements), len(writes)


class _gunicorn:
    """gunicorn with gunicorn.conf.py's settings serving ``app`` on 127.0.0.1:``port``."""

    def __init__(self, env: dict[str, str], port: int, app: str):
        self.command = [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            app,
        ]
        self.env, self.port = env, port

    def __enter__(self):
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gunicorn exited: {' '.join(self.command)}") from None
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start within 30 s")

    def __exit__(self, *_exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, cookie: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


def _sign_in(port: int) -> str:
    """Sign in through the real form (CSRF token and all); the session cookie."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', page)
    token = token or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    body = urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)})
    conn.request(
        "POST",
        "/login",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = conn.getresponse()
    response.read()
    assert response.status == 302, f"sign-in answered {response.status}"
    cookies = [value.split(";")[0] for name, value in response.getheaders() if name == "Set-Cookie"]
    conn.close()
    return "; ".join(cookies)


def _client(port: int, path: str, cookie: str, seconds: float, results) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    done, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"answered {response.status}")
        done += 1
    conn.close()
    results.put(done)


def _load(port: int, path: str, cookie: str, args) -> float:
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_client, args=(port, path, cookie, args.seconds, results))
        for _ in range(args.clients)
    ]
    for worker in workers:
        worker.start()
    total = sum(results.get(timeout=args.seconds + 60) for _ in workers)
    for worker in workers:
        worker.join()
    return total / args.seconds


if __name__ == "__main__":
    main()
