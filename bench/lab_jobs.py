"""Benchmark: how fast a lab worker picks up a queued job (not a test).

Queues --jobs ``stop`` jobs of session keys that do not exist (the engine answers "no
such lab" at once), one at a time, each after the previous one ended, and reports the
wake-up latency: from the job's insert (``created_at``) to its claim by a worker
(``started_at``), both stamped on this host. Two workers:

- inline: the worker thread of this process, woken directly by the enqueue;
- external (with --external): an `lms labs worker` process on the same database, woken
  by PostgreSQL's LISTEN/NOTIFY (on SQLite it polls every second).

    .venv/bin/python bench/lab_jobs.py [--jobs 30] [--external]
        [--database postgresql+psycopg://lms:lms@127.0.0.1:5432/lms_bench]

Without --database it runs on a throw-away SQLite file. The database is emptied first.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lms import create_app  # noqa: E402
from lms.config import TestingConfig  # noqa: E402
from lms.extensions import db  # noqa: E402
from lms.labs import jobs, workers  # noqa: E402
from lms.labs.health import WorkerRecord  # noqa: E402


def make_app(database: str, external: bool):
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(
        LMS_DATABASE_URL=database,
        LMS_LAB_WORKER="external" if external else "inline",
        LMS_LAB_SESSION_PREFIX="bench-jobs-",
    )
    app = create_app(config)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            db.drop_all()
        db.create_all()
    return app


def latencies(app, count: int) -> list[float]:
    found = []
    for n in range(count):
        with app.app_context():
            job_id = jobs.enqueue("stop", payload={"key": f"bench-jobs-none{n}"}).id
            finished = jobs.wait_finished(job_id, 30)
            if finished is None:
                raise SystemExit(f"job {job_id} was not run within 30 s")
            found.append((finished.started_at - finished.created_at).total_seconds())
            db.session.remove()
        time.sleep(0.05)
    return found


def report(label: str, values: list[float]) -> None:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        f"{label:10} enqueue -> claimed: median {statistics.median(values) * 1000:6.1f} ms, "
        f"p95 {p95 * 1000:6.1f} ms, max {ordered[-1] * 1000:6.1f} ms (n={len(values)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30)
    parser.add_argument("--external", action="store_true")
    parser.add_argument("--database")
    args = parser.parse_args()
    database = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    dialect = database.split(":")[0]

    app = make_app(database, external=False)
    workers.inline_worker(app)
    report(f"inline ({dialect.split('+')[0]})", latencies(app, args.jobs))
    workers.stop_inline(app)
    if not args.external:
        return

    app = make_app(database, external=True)
    env = {
        **os.environ,
        "LMS_DATABASE_URL": database,
        "LMS_LAB_WORKER": "external",
        "LMS_LAB_SESSION_PREFIX": "bench-jobs-",
        "LMS_SECRET_KEY": "bench",
    }
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "lms"), "labs", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            with app.app_context():
                if db.session.scalar(select(WorkerRecord.identity)):
                    break
            if time.monotonic() > deadline:
                raise SystemExit("the external worker did not report within 2 minutes")
            time.sleep(0.2)
        time.sleep(1.0)  # its start-up reconcile
        report(f"external ({dialect.split('+')[0]})", latencies(app, args.jobs))
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)


if __name__ == "__main__":
    main()
