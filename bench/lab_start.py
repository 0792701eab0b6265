"""Benchmark: lab starts through the platform, on the real Docker engine (not a test).

1. One start at a time: the platform (POST /api/v1/labs/<lab>/start, then poll the
   session until it is running, as the panel does) against a bare
   `docker run -d --rm IMAGE sleep infinity` of the same image, waiting until
   Docker reports it running. Median of --rounds each, and the ratio.
2. A burst: --burst trainees start at once (over HTTP, one thread each); time until
   all are running, and the p50/p95 latency of an ordinary page (GET /catalogue,
   signed in) fetched meanwhile in another thread, against the same page when idle.

Everything runs against a throw-away SQLite database and a live server on a free
port; every container and network it made is removed at the end.

    .venv/bin/python bench/lab_start.py [--lab shell-basics] [--rounds 12] [--burst 30]
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import suppress
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms import create_app  # noqa: E402
from lms.config import TestingConfig  # noqa: E402
from lms.extensions import db  # noqa: E402

PASSWORD = "bench-password-123"
CSRF_INPUT = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PANEL_POLL = 1.0  # seconds: the lab panel polls a starting session once a second


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


class Platform:
    """The app on a fresh database, served on a free port, with N trainees."""

    def __init__(
        self,
        tmp: Path,
        lab: str,
        burst: int,
        database_url: str | None = None,
        workers: int | None = None,
        settings: dict | None = None,
    ):
        self.prefix = f"bench-{uuid.uuid4().hex[:6]}-"
        config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
        config.update(
            LMS_DATABASE_URL=database_url or f"sqlite:///{tmp / 'bench.sqlite'}",
            LMS_COURSES_DIR=str(ROOT / "courses"),
            LMS_LABS_DIR=str(ROOT / "labs"),
            LMS_MAX_LABS_PER_USER=1,
            LMS_MAX_LABS_TOTAL=burst + 10,
            LMS_LAB_SESSION_PREFIX=self.prefix,
            RATELIMIT_ENABLED=False,
            WTF_CSRF_ENABLED=True,
        )
        if workers:
            config["LMS_START_LAB_WORKERS"] = workers
        config.update(settings or {})  # e.g. LMS_LAB_BACKEND
        self.app = create_app(config)
        self.lab = lab
        with self.app.app_context():
            db.drop_all()
            db.create_all()
            from lms.auth.services import create_user
            from lms.catalog.services import sync_courses

            sync_courses(ROOT / "courses")
            for number in range(burst + 1):
                create_user(f"bench{number}@example.org", PASSWORD, name=f"Bench {number}")
            db.session.commit()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def runtime(self):
        from lms.labs.app_runtime import lab_runtime

        return lab_runtime(self.app)

    def image(self) -> str:
        from lms.content.lab_parser import load_lab

        spec = load_lab(ROOT / "labs" / self.lab)
        from lms.labs.app_runtime import lab_image_builder

        tags = lab_image_builder(self.app).build(spec)
        return tags[spec.workstation]

    def browser(self, number: int) -> requests.Session:
        """A signed-in browser of trainee ``number``: session cookie and CSRF header, like
        the lab panel (so its polls only read the database, as in production)."""
        browser = requests.Session()
        login = browser.get(f"{self.url}/login").text
        token = CSRF_INPUT.search(login).group(1)
        answer = browser.post(
            f"{self.url}/login",
            data={"email": f"bench{number}@example.org", "password": PASSWORD, "csrf_token": token},
        )
        answer.raise_for_status()
        page = browser.get(f"{self.url}/catalogue").text
        browser.headers["X-CSRFToken"] = CSRF_META.search(page).group(1)
        return browser

    def start_and_wait(self, api: requests.Session, poll: float = 0.01) -> tuple[int, float]:
        began = time.perf_counter()
        response = api.post(f"{self.url}/api/v1/labs/{self.lab}/start", json={})
        response.raise_for_status()
        session_id = response.json()["id"]
        while True:
            status = api.get(f"{self.url}/api/v1/labs/sessions/{session_id}").json()["status"]
            if status == "running":
                return session_id, time.perf_counter() - began
            if status != "starting":
                raise RuntimeError(f"lab session {session_id} ended as {status}")
            time.sleep(poll)

    def stop(self, api: requests.Session, session_id: int) -> None:
        api.post(f"{self.url}/api/v1/labs/sessions/{session_id}/stop").raise_for_status()

    def wait_idle(self) -> None:
        from lms.labs.workers import wait_drained

        wait_drained(self.app, 300)

    def close(self) -> None:
        with suppress(Exception):
            self.wait_idle()
        with suppress(Exception):
            self.runtime().remove_orphans(set(), key_prefix=self.prefix)
        self.server.shutdown()
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


def docker_run_once(image: str, isolated: bool = False) -> float:
    """`docker run -d --rm` until Docker reports it running; ``isolated``: first an internal
    network and the platform's hardening flags, by hand (for context)."""
    began = time.perf_counter()
    name = docker_run(image, isolated)
    try:
        wait_running(name)
        return time.perf_counter() - began
    finally:
        docker_remove(name, isolated)


def docker_run(image: str, isolated: bool = False) -> str:
    """Start a bare container of ``image`` with the docker CLI (detached); its name."""
    name = f"bench-bare-{uuid.uuid4().hex[:8]}"
    options = []
    if isolated:
        subprocess.run(
            ["docker", "network", "create", "--internal", name], check=True, capture_output=True
        )
        options = [
            "--network",
            name,
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            "256m",
            "--cpus",
            "0.5",
            "--pids-limit",
            "128",
            "--init",
        ]
    try:
        subprocess.run(
            ["docker", "run", "-d", "--rm", "--name", name, *options, image, "sleep", "infinity"],
            check=True,
            capture_output=True,
        )
    except BaseException:
        docker_remove(name, isolated)
        raise
    return name


def wait_running(name: str) -> None:
    """Return once Docker reports the container ``name`` running."""
    while True:
        state = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", name],
            capture_output=True,
            text=True,
        ).stdout.strip()
        if state == "true":
            return
        time.sleep(0.01)


def docker_remove(name: str, isolated: bool = False) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    if isolated:
        subprocess.run(["docker", "network", "rm", name], capture_output=True)


def sequential(platform: Platform, rounds: int) -> None:
    image = platform.image()
    print(f"\n1. One start at a time: lab '{platform.lab}' ({image}), {rounds} rounds each")
    api = platform.browser(0)
    docker_run_once(image)  # warm the engine and the CLI
    ours, bare, isolated = [], [], []
    for _ in range(rounds):
        session_id, took = platform.start_and_wait(api)
        ours.append(took)
        platform.stop(api, session_id)
        platform.wait_idle()
        bare.append(docker_run_once(image))
        isolated.append(docker_run_once(image, isolated=True))
    median_ours, median_bare = statistics.median(ours), statistics.median(bare)
    median_isolated = statistics.median(isolated)
    print(
        f"   platform start until running  median {ms(median_ours)}   "
        f"min {ms(min(ours))}   max {ms(max(ours))}"
    )
    print(
        f"   bare docker run until running median {ms(median_bare)}   "
        f"min {ms(min(bare))}   max {ms(max(bare))}"
    )
    print(f"   ratio platform / docker run: {median_ours / median_bare:.2f}")
    print(
        "   (the platform also creates a private internal network, drops capabilities,\n"
        "    writes the trainee's flag before the start, and records the session; by hand:)"
    )
    print(
        f"   docker network create --internal + hardened docker run: median "
        f"{ms(median_isolated)}   ratio platform / that: {median_ours / median_isolated:.2f}"
    )


def page_latencies(
    platform: Platform, stop: threading.Event, out: list[float], count: int | None = None
) -> None:
    browser = platform.browser(0)
    while not stop.is_set() and (count is None or len(out) < count):
        began = time.perf_counter()
        response = browser.get(f"{platform.url}/catalogue")
        out.append(time.perf_counter() - began)
        assert response.status_code == 200, response.status_code
        time.sleep(0.02)


def burst(platform: Platform, size: int) -> None:
    print(
        f"\n2. {size} trainees start '{platform.lab}' at the same moment "
        f"({platform.app.config['LMS_START_LAB_WORKERS']} start workers)"
    )
    idle: list[float] = []
    page_latencies(platform, threading.Event(), idle, count=100)

    during: list[float] = []
    stop_pages = threading.Event()
    pages = threading.Thread(target=page_latencies, args=(platform, stop_pages, during))
    pages.start()
    barrier = threading.Barrier(size)
    results: list[tuple[int, float, requests.Session]] = []
    errors: list[str] = []

    def trainee(api: requests.Session) -> None:
        barrier.wait()
        try:
            session_id, took = platform.start_and_wait(api, poll=PANEL_POLL)
            results.append((session_id, took, api))
        except Exception as exc:
            errors.append(str(exc))

    browsers = [platform.browser(number) for number in range(1, size + 1)]
    threads = [threading.Thread(target=trainee, args=(b,)) for b in browsers]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_running = time.perf_counter() - began
    stop_pages.set()
    pages.join()

    took = [t for _, t, _ in results]
    print(f"   (each trainee polls its session every {PANEL_POLL:g} s, like the panel)")
    print(
        f"   all {len(results)} running after {all_running:.2f} s "
        f"(each: median {statistics.median(took):.2f} s, max {max(took):.2f} s)"
        + (f"; {len(errors)} failed: {errors[:3]}" if errors else "")
    )
    print(
        f"   GET /catalogue idle:        p50 {ms(percentile(idle, 0.5))}   "
        f"p95 {ms(percentile(idle, 0.95))}   ({len(idle)} requests)"
    )
    print(
        f"   GET /catalogue during burst: p50 {ms(percentile(during, 0.5))}   "
        f"p95 {ms(percentile(during, 0.95))}   ({len(during)} requests)"
    )
    for session_id, _, api in results:
        platform.stop(api, session_id)
    platform.wait_idle()
    engine_only_burst(platform, size)


def engine_only_burst(platform: Platform, size: int) -> None:
    """For context: the same starts done with the docker CLI (as many at a time as the
    platform's workers), the platform only serving pages: what the engine alone costs."""
    from concurrent.futures import ThreadPoolExecutor

    image = platform.image()
    workers = int(platform.app.config["LMS_START_LAB_WORKERS"])
    during: list[float] = []
    stop_pages = threading.Event()
    pages = threading.Thread(target=page_latencies, args=(platform, stop_pages, during))
    pages.start()
    began = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: docker_run_once(image, isolated=True), range(size)))
    took = time.perf_counter() - began
    stop_pages.set()
    pages.join()
    print(
        f"   for context, the engine alone: {size} hardened `docker run`s on internal "
        f"networks, {workers} at a time, {took:.2f} s (each removed at once);"
    )
    print(
        f"   GET /catalogue meanwhile:    p50 {ms(percentile(during, 0.5))}   "
        f"p95 {ms(percentile(during, 0.95))}   ({len(during)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lab", default="shell-basics", help="a lab of labs/ (default %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--workers", type=int, help="LMS_START_LAB_WORKERS (default: config)")
    parser.add_argument(
        "--database-url",
        help="an EMPTY database to use and wipe (default: a "
        "temporary SQLite file), e.g. postgresql+psycopg://lms:lms@127.0.0.1/bench",
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp), args.lab, args.burst, args.database_url, args.workers)
        print(f"database: {platform.app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")
        try:
            if args.rounds > 0:
                sequential(platform, args.rounds)
            burst(platform, args.burst)
        finally:
            platform.close()
    print("\nclean-up: every bench container and network removed")


if __name__ == "__main__":
    main()
