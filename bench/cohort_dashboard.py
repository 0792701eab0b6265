"""Time the cohort dashboard for a large cohort (default 1,000 trainees × 30 modules).

Prints the server time of the dashboard page (its first page of trainees, and a page
sorted by progress showing only the stuck ones), the matrix CSV export and the JSON API
(median of several runs, through the Flask test client so no network or browser time
is counted), the CPU time of this process for it (less sensitive to a busy machine than
the wall clock), the number of SQL queries each one sends and the size of the answer.

    .venv/bin/python bench/cohort_dashboard.py [--trainees 1000] [--modules 30] [--runs 7]

The data goes into a throw-away SQLite file in a temporary folder, or into the
database given with --database-url, whose tables are dropped first (never point
it at real data). LMS_DATABASE_URL is deliberately ignored.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lms import create_app  # noqa: E402
from lms.config import TestingConfig  # noqa: E402
from lms.extensions import db  # noqa: E402

PASSWORD = "bench-password-1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainees", type=int, default=1000)
    parser.add_argument("--modules", type=int, default=30)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="a scratch database (its tables are dropped)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lms-bench-") as tmp:
        run(args, Path(tmp))


def run(args, tmp: Path) -> None:
    config = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
    # Always an explicit database: the default would be the instance folder's real one.
    config["LMS_DATABASE_URL"] = args.database_url or f"sqlite:///{tmp / 'bench.sqlite'}"
    config["RATELIMIT_ENABLED"] = False
    app = create_app(config)

    with app.app_context():
        db.drop_all()
        db.create_all()
        from lms.auth.services import create_user
        from lms.centres.generator import generate_cohort

        started = time.perf_counter()
        made = generate_cohort(args.trainees, args.modules, seed=1)
        generated = time.perf_counter() - started
        create_user("bench-admin@example.org", PASSWORD, role="platform_admin")
        db.session.commit()
        engine = db.engine

    print(
        f"generated {made.trainees} trainees × {made.modules} modules in {generated:.1f} s: "
        + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in made.rows.items())
    )
    print(
        f"database: {engine.url.render_as_string(hide_password=True)}, "
        f"server time through the Flask test client"
    )

    client = app.test_client()
    client.post("/login", data={"email": "bench-admin@example.org", "password": PASSWORD})
    cid = made.cohort_id
    # Baseline in the same run: an ordinary page, the floor of any request here.
    for label, url in (
        ("home page baseline", "/"),
        ("dashboard page", f"/cohorts/{cid}/dashboard"),
        ("dashboard, stuck", f"/cohorts/{cid}/dashboard?sort=progress&filter=stuck&page=2"),
        ("matrix CSV export", f"/cohorts/{cid}/export/matrix.csv"),
        ("API progress JSON", f"/api/v1/cohorts/{cid}/progress"),
    ):
        times, cpu, queries, size = _time(client, engine, url, args.runs)
        print(
            f"{label:18} median {statistics.median(times) * 1000:7.0f} ms "
            f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}, {args.runs} runs; "
            f"CPU median {statistics.median(cpu) * 1000:.0f} ms), "
            f"{queries} SQL queries, {size / 1024:.0f} KiB"
        )
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _time(client, engine, url: str, runs: int) -> tuple[list[float], list[float], int, int]:
    response = client.get(url)  # warm-up (template compilation, caches)
    assert response.status_code == 200, (url, response.status_code)
    statements = []

    def count(*_args):
        statements.append(1)

    times, cpu = [], []
    for i in range(runs):
        if i == 0:
            event.listen(engine, "before_cursor_execute", count)
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        if i == 0:
            event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200
    return times, cpu, len(statements), len(response.data)


if __name__ == "__main__":
    main()
