"""Lab workers as real processes on one database, with the real Docker engine: two
`lms labs worker` start each queued session exactly once, a worker killed with `kill -9`
in the middle of a start loses it to the others (retried, never left running), and two
processes sweeping at once take turns (the reaper lease).

Run on PostgreSQL with LMS_TEST_DATABASE_URL (the deployment these are for); SQLite works
too (workers poll instead of LISTEN).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lms.content.lab_parser import load_lab
from lms.extensions import db
from lms.labs.health import WorkerRecord
from lms.labs.jobs import LabJob
from lms.labs.leases import LabLease
from lms.labs.models import LabSession
from lms.labs.runtime import (
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    get_image_builder,
    get_runtime,
)
from tests.conftest import ROOT
from tests.lab_support import (
    FIXTURE_LABS,
    LAB_COURSES,
    ApiClient,
    close_lab_app,
    create_user,
    make_lab_app,
)

pytestmark = pytest.mark.docker

LMS = str(Path(sys.executable).parent / "lms")

# A worker that claims one start and hangs in it, until it is killed.
HANGING_WORKER = """
import time
from lms import create_app
from lms.labs import app_runtime, workers

app = create_app()
runtime = app_runtime.lab_runtime(app)
runtime.start = lambda *args: time.sleep(3600)
workers.run_external(app, threads=1).run_forever()
"""

# A process that sweeps four times, saying when each sweep began and ended and what it
# removed; both processes of the test begin at the same moment (told on stdin, once both
# have said READY).
SWEEPER = """
import sys, time
from lms import create_app
from lms.labs import app_runtime, reaper

app = create_app()
runtime = app_runtime.lab_runtime(app)
real_stop, real_reap = runtime.stop, reaper.reap

def stop(key):
    print("STOP", key, flush=True)
    real_stop(key)

def reap(full=False):
    print("BEGIN", time.time(), flush=True)
    try:
        return real_reap(full)
    finally:
        time.sleep(0.3)  # a sweep that takes a while: another one must not start meanwhile
        print("END", time.time(), flush=True)

runtime.stop, reaper.reap = stop, reap
print("READY", flush=True)
sys.stdin.readline()
for _ in range(4):
    reaper.run_sweep(app)
    time.sleep(0.05)
"""


@pytest.fixture(scope="module")
def tiny_lab(docker_client):
    spec = load_lab(FIXTURE_LABS / "tiny-lab")
    get_image_builder().build(spec)
    return spec


@pytest.fixture
def app(tmp_path, tiny_lab):
    app = make_lab_app(tmp_path, LMS_LAB_WORKER="external")
    yield app
    # The worker processes started the labs, so this app holds no runtime of its own for
    # close_lab_app to sweep with: remove what runs under this test's prefix here.
    get_runtime().remove_orphans(set(), key_prefix=app.config["LMS_LAB_SESSION_PREFIX"])
    close_lab_app(app)


def worker_env(app) -> dict:
    config = app.config
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LMS_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
        "LMS_SECRET_KEY": config["LMS_SECRET_KEY"],
        "LMS_LABS_DIR": str(FIXTURE_LABS),
        "LMS_COURSES_DIR": str(LAB_COURSES),
        "LMS_LAB_SESSION_PREFIX": config["LMS_LAB_SESSION_PREFIX"],
        "LMS_LAB_WORKER": "external",
        "LMS_REAPER_INTERVAL": "2",
        "LMS_START_LAB_WORKERS": "2",
    }


def spawn(app, *args, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        list(args),
        cwd=ROOT,
        env=worker_env(app),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def query(app, statement):
    with app.app_context():
        try:
            return db.session.execute(statement).all()
        finally:
            db.session.remove()


def containers_of(client, key: str):
    return client.containers.list(all=True, filters={"label": [f"{LABEL_SESSION}={key}"]})


def test_two_workers_start_each_session_once_and_a_killed_worker_loses_its_start(
    app, docker_client
):
    hanging = spawn(app, sys.executable, "-c", HANGING_WORKER)
    others: list[subprocess.Popen] = []
    try:
        marker = f"|{hanging.pid}|"
        wait_for(
            lambda: any(marker in row[0] for row in query(app, select(WorkerRecord.identity))),
            120,
            "the first worker's heartbeat",
        )
        ids = []
        for n in range(6):
            _, token = create_user(app, f"trainee{n}@example.org")
            response = ApiClient(app, token).start("tiny-lab")
            assert response.status_code == 202, response.json
            ids.append(response.json["id"])
        held = wait_for(
            lambda: query(
                app,
                select(LabJob.id, LabJob.session_id).where(
                    LabJob.status == "running", LabJob.claimed_by.contains(marker)
                ),
            ),
            60,
            "the hanging worker to claim a start",
        )
        (killed_job, killed_session) = held[0]
        os.kill(hanging.pid, signal.SIGKILL)
        hanging.wait(10)

        others = [spawn(app, LMS, "labs", "worker") for _ in range(2)]
        wait_for(
            lambda: not query(app, select(LabSession.id).where(LabSession.status == "starting")),
            240,
            "every start to end",
        )
        sessions = query(app, select(LabSession.id, LabSession.key, LabSession.status))
        assert sorted(row[0] for row in sessions) == sorted(ids)
        assert {row[2] for row in sessions} == {"running"}
        for _, key, _ in sessions:  # started exactly once: one container per session
            assert len(containers_of(docker_client, key)) == 1, key
        starts = {
            row[0]: row[1:]
            for row in query(
                app,
                select(LabJob.session_id, LabJob.status, LabJob.attempts, LabJob.claimed_by).where(
                    LabJob.kind == "start"
                ),
            )
        }
        assert len(starts) == 6
        assert {status for status, _, _ in starts.values()} == {"done"}
        status, attempts, holder = starts[killed_session]
        assert attempts == 2 and marker not in holder  # taken back, run by another worker
        assert all(starts[s][1] == 1 for s in ids if s != killed_session)
        assert query(app, select(LabJob.id).where(LabJob.id == killed_job))
        sweeps = query(app, select(LabLease.taken_count).where(LabLease.name == "reaper"))
        assert sweeps and sweeps[0][0] >= 2  # the workers reconciled, then swept, in turns
    finally:
        for process in others:
            process.send_signal(signal.SIGTERM)
        for process in others:
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        if hanging.poll() is None:
            hanging.kill()


def test_two_processes_sweeping_at_once_take_turns(app, docker_client):
    prefix = app.config["LMS_LAB_SESSION_PREFIX"]
    keys = [f"{prefix}orphan{n}" for n in range(3)]
    for key in keys:  # what a start cut off half-way leaves: a network, no session
        docker_client.networks.create(
            f"lms-{key}",
            driver="bridge",
            internal=True,
            labels={LABEL_PLATFORM: PLATFORM_NAME, LABEL_SESSION: key},
        )
    sweepers = [spawn(app, sys.executable, "-c", SWEEPER, stdin=subprocess.PIPE) for _ in range(2)]
    preambles = []
    for process in sweepers:  # both are running, ready to sweep
        lines = []
        for line in iter(process.stdout.readline, ""):
            if line.strip() == "READY":
                break
            lines.append(line)
        else:
            raise AssertionError(f"a sweeper ended before it was ready: {''.join(lines)}")
        preambles.append("".join(lines))
    for process in sweepers:  # go: both at the same moment
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [
        preamble + process.communicate(timeout=180)[0]
        for preamble, process in zip(preambles, sweepers, strict=True)
    ]
    assert all(process.returncode == 0 for process in sweepers), outputs

    intervals, stopped = [], []
    for output in outputs:
        lines = [line.split() for line in output.splitlines()]
        begins = [float(parts[1]) for parts in lines if parts[:1] == ["BEGIN"]]
        ends = [float(parts[1]) for parts in lines if parts[:1] == ["END"]]
        intervals += list(zip(begins, ends, strict=True))
        stopped += [parts[1] for parts in lines if parts[:1] == ["STOP"]]
    intervals.sort()
    assert intervals, outputs
    for (_, first_end), (next_begin, _) in zip(intervals, intervals[1:], strict=False):
        assert next_begin >= first_end, "two sweeps ran at once"
    assert sorted(stopped) == sorted(keys)  # each orphan removed once, by one of them
    with app.app_context():
        taken = db.session.scalar(select(LabLease.taken_count).where(LabLease.name == "reaper"))
        assert taken == len(intervals)
        assert db.session.scalar(select(func.count()).select_from(LabLease)) == 1
    for key in keys:
        assert docker_client.networks.list(filters={"label": [f"{LABEL_SESSION}={key}"]}) == []
