"""Benchmark: lab starts from a warm pool (lms.labs.pools), on the real Docker engine.

1. Click to running, one start at a time: POST /api/v1/labs/<lab>/start, then poll the
   session every 10 ms until it is running, with a warm pool of the lab (the start claims
   a ready session and writes the trainee's flag into it), against a bare
   `docker run -d --rm IMAGE sleep infinity` of the same image until Docker reports it
   running. The pool is refilled and the machine quiet before each measurement. Median of
   --rounds each, and the ratio (goal: at most 0.75).
2. A burst: --burst trainees start at once (one thread each, polling every second like
   the lab panel) with a pool of --burst ready; p50/p95 of GET /catalogue (signed in)
   during the burst against the same page when idle (goal: p95 at most 2x idle). The
   refill starts LMS_POOL_REFILL_DELAY (5 s) after the last claim, after the burst.
3. The same burst with no pool (cold starts), for comparison.

The pool is a cohort's schedule ("--burst ready now"). Throw-away SQLite database (or
--database-url, an EMPTY database it wipes), live server on a free port; every container
and network it made is removed at the end. The lab jobs run on the server's own inline
worker, or with --external-worker in a separate `lms labs worker` process (the web process
then only queues them, as in a deployment; use PostgreSQL, where workers are woken at once).

    .venv/bin/python bench/lab_pool.py [--lab shell-basics] [--rounds 12] [--burst 30]
        [--database-url postgresql+psycopg://lms:lms@127.0.0.1/bench] [--external-worker]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from lab_start import PANEL_POLL, Platform, docker_run_once, ms, page_latencies, percentile  # noqa: E402

from lms.auth.models import utcnow  # noqa: E402
from lms.extensions import db  # noqa: E402


def set_pool(platform: Platform, size: int) -> None:
    """A cohort's schedule of ``size`` ready sessions from now (0: none), filled before this
    returns."""
    from lms.centres.models import Centre, Cohort
    from lms.labs import pools
    from lms.labs.pool_models import PoolSchedule

    with platform.app.app_context():
        for schedule in db.session.query(PoolSchedule).all():
            db.session.delete(schedule)
        db.session.commit()
        if size:
            cohort = db.session.query(Cohort).first()
            if cohort is None:
                cohort = Cohort(centre=Centre(slug="bench", name="Bench"), name="Bench class")
                db.session.add(cohort)
                db.session.commit()
            now = utcnow()
            pools.add_schedule(cohort.id, platform.lab, size, now, now + timedelta(hours=2))
        wait_pool(platform, size)


def wait_pool(platform: Platform, size: int, timeout: float = 600) -> None:
    """Run the refills now and wait until the pool holds ``size`` ready sessions."""
    from lms.labs import pools

    deadline = time.monotonic() + timeout
    with platform.app.app_context():
        while True:
            pools.maintain(platform.lab)
            pools.wait_refills(timeout)
            ready = {p.lab_slug: p for p in pools.overview()}.get(platform.lab)
            have = ready.ready if ready else 0
            if have >= size and (ready is None or ready.filling == 0):
                db.session.remove()
                return
            if ready and ready.error:
                raise RuntimeError(f"the pool is failing: {ready.error}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the pool holds {have} of {size} after {timeout} s")
            time.sleep(0.2)


def sequential(platform: Platform, rounds: int) -> None:
    image = platform.image()
    print(f"\n1. Click to running, one at a time: lab '{platform.lab}' ({image}), {rounds} rounds")
    api = platform.browser(0)
    docker_run_once(image)  # warm the engine and the CLI
    set_pool(platform, 1)
    warm, bare = [], []
    for _ in range(rounds):
        wait_pool(platform, 1)
        session_id, took = platform.start_and_wait(api)
        warm.append(took)
        platform.stop(api, session_id)
        platform.wait_idle()
        wait_pool(platform, 1)  # the refill done: the bare run below has a quiet engine too
        bare.append(docker_run_once(image))
    median_warm, median_bare = statistics.median(warm), statistics.median(bare)
    print(
        f"   warm pool: start until running median {ms(median_warm)}   "
        f"min {ms(min(warm))}   max {ms(max(warm))}"
    )
    print(
        f"   bare docker run until running     median {ms(median_bare)}   "
        f"min {ms(min(bare))}   max {ms(max(bare))}"
    )
    print(f"   ratio warm pool / docker run: {median_warm / median_bare:.2f}  (goal <= 0.75)")


def burst(platform: Platform, size: int, pooled: bool) -> None:
    label = f"with a pool of {size} ready" if pooled else "with no pool (cold starts)"
    print(f"\n{'2' if pooled else '3'}. {size} trainees start '{platform.lab}' at once, {label}")
    set_pool(platform, size if pooled else 0)
    idle: list[float] = []
    page_latencies(platform, threading.Event(), idle, count=100)

    during: list[float] = []
    stop_pages = threading.Event()
    pages = threading.Thread(target=page_latencies, args=(platform, stop_pages, during))
    browsers = [platform.browser(number) for number in range(1, size + 1)]
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

    threads = [threading.Thread(target=trainee, args=(b,)) for b in browsers]
    pages.start()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    all_running = time.perf_counter() - began
    stop_pages.set()
    pages.join()

    took = [t for _, t, _ in results] or [0.0]
    print(f"   (each trainee polls its session every {PANEL_POLL:g} s, like the panel)")
    print(
        f"   all {len(results)} running after {all_running:.2f} s "
        f"(each: median {statistics.median(took):.2f} s, max {max(took):.2f} s)"
        + (f"; {len(errors)} failed: {errors[:3]}" if errors else "")
    )
    p95_idle, p95_during = percentile(idle, 0.95), percentile(during, 0.95)
    print(
        f"   GET /catalogue idle:        p50 {ms(percentile(idle, 0.5))}   "
        f"p95 {ms(p95_idle)}   ({len(idle)} requests)"
    )
    print(
        f"   GET /catalogue during burst: p50 {ms(percentile(during, 0.5))}   "
        f"p95 {ms(p95_during)}   ({len(during)} requests)"
    )
    print(
        f"   p95 during / idle: {p95_during / p95_idle:.1f}x" + ("  (goal <= 2x)" if pooled else "")
    )
    for session_id, _, api in results:
        platform.stop(api, session_id)
    platform.wait_idle()


def external_worker(platform: Platform, tmp: Path) -> subprocess.Popen:
    """`lms labs worker` on the platform's database and labs, its output in a file."""
    config = platform.app.config
    env = {
        **os.environ,
        "LMS_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "LMS_LABS_DIR": config["LMS_LABS_DIR"],
        "LMS_COURSES_DIR": config["LMS_COURSES_DIR"],
        "LMS_LAB_SESSION_PREFIX": config["LMS_LAB_SESSION_PREFIX"],
        "LMS_SECRET_KEY": config["SECRET_KEY"],  # the trainees' flags derive from it
        "LMS_LAB_WORKER": "external",
        "LMS_MAX_LABS_TOTAL": str(config["LMS_MAX_LABS_TOTAL"]),
        "LMS_START_LAB_WORKERS": str(config["LMS_START_LAB_WORKERS"]),
        "LMS_REAPER_INTERVAL": "0",
    }
    log = (tmp / "worker.log").open("w")
    lms = Path(sys.executable).parent / "lms"
    return subprocess.Popen([str(lms), "labs", "worker"], env=env, stdout=log, stderr=log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lab", default="shell-basics", help="a lab of labs/ (default %(default)s)"
    )
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--burst", type=int, default=30)
    parser.add_argument("--workers", type=int, help="LMS_START_LAB_WORKERS (default: config)")
    parser.add_argument("--database-url", help="an EMPTY database to use and wipe")
    parser.add_argument(
        "--external-worker", action="store_true", help="run the lab jobs in `lms labs worker`"
    )
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    worker = None
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp), args.lab, args.burst, args.database_url, args.workers)
        # Room for a full pool, its claimed sessions and their refills.
        platform.app.config["LMS_MAX_LABS_TOTAL"] = 2 * args.burst + 10
        where = "inline worker of the web process"
        if args.external_worker:
            platform.app.config["LMS_LAB_WORKER"] = "external"
            worker = external_worker(platform, Path(tmp))
            where = "an `lms labs worker` process"
        database = platform.app.config["SQLALCHEMY_DATABASE_URI"].split("@")[-1]
        print(f"database: {database}; lab jobs run on {where}")
        try:
            if args.rounds > 0:
                sequential(platform, args.rounds)
            burst(platform, args.burst, pooled=True)
            burst(platform, args.burst, pooled=False)
        finally:
            set_pool(platform, 0)
            platform.close()
            if worker is not None:
                worker.terminate()
                worker.wait(60)
    print("\nclean-up: every bench container and network removed")


if __name__ == "__main__":
    main()
