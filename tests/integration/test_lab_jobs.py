"""The lab job queue and the named leases on the database the tests run on (SQLite, or
PostgreSQL with LMS_TEST_DATABASE_URL): claims are exactly-once, retries stop at
max_attempts, the jobs of a dead worker are taken back, one holder per lease.

Real processes and the real engine (two `lms labs worker` on one database, `kill -9`,
two sweeps at once) are in tests/integration/test_lab_workers.py.
"""

from __future__ import annotations

import subprocess
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs import jobs, leases, workers
from lms.labs.errors import START_FAILED_MESSAGE
from lms.labs.jobs import LabJob
from lms.labs.leases import LabLease
from lms.labs.models import LabSession
from tests.lab_support import ApiClient, FakeRuntime, close_lab_app, create_user, make_lab_app

ran: list[tuple[int, str]] = []
ran_lock = threading.Lock()


@jobs.handler("test-note", max_attempts=2)
def _note(job: LabJob) -> None:
    with ran_lock:
        ran.append((job.id, job.payload.get("label", "")))


@jobs.handler("test-flaky", max_attempts=3)
def _flaky(job: LabJob) -> None:
    raise jobs.Retry("not yet", after=0)


@pytest.fixture
def app(tmp_path):
    from lms.labs import app_runtime

    app = make_lab_app(tmp_path)
    app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    ran.clear()
    yield app
    close_lab_app(app)


def dead_identity() -> str:
    """The identity of a process of this machine that has exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return f"{leases._machine()}|{child.pid}|0"


def test_concurrent_claimers_take_each_job_exactly_once(app):
    with app.app_context():
        ids = [jobs.enqueue("test-note", commit=False).id for _ in range(40)]
        db.session.commit()
    claimed: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claimer(name: str) -> None:
        mine = claimed.setdefault(name, [])
        with app.app_context():
            barrier.wait()
            while (job := jobs.claim(name)) is not None:
                mine.append(job.id)
            db.session.remove()

    threads = [threading.Thread(target=claimer, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [job_id for mine in claimed.values() for job_id in mine]
    assert sorted(every) == sorted(ids)  # all claimed, none twice
    with app.app_context():
        rows = db.session.scalars(select(LabJob)).all()
        assert {row.status for row in rows} == {"running"}
        assert all(row.attempts == 1 for row in rows)
        owner = {job_id: name for name, mine in claimed.items() for job_id in mine}
        assert all(row.claimed_by == owner[row.id] for row in rows)


def test_a_job_due_later_is_not_claimed_before_its_time(app):
    with app.app_context():
        jobs.enqueue("test-note", delay=3600)
        assert jobs.claim("w1") is None
        assert jobs.open_jobs() == 0  # nothing due: a drain does not wait for it


def test_the_inline_worker_runs_jobs_and_retries_stop_at_max_attempts(app):
    with app.app_context():
        note = jobs.enqueue("test-note", payload={"label": "hello"}).id
        flaky = jobs.enqueue("test-flaky").id
    assert workers.wait_drained(app, 30)
    with app.app_context():
        assert ran == [(note, "hello")]
        done, failed = db.session.get(LabJob, note), db.session.get(LabJob, flaky)
        assert (done.status, done.attempts, done.error) == ("done", 1, None)
        assert (failed.status, failed.attempts, failed.error) == ("failed", 3, "not yet")


def test_the_job_of_a_dead_worker_is_queued_again_then_failed(app):
    gone = dead_identity()
    with app.app_context():
        job = jobs.enqueue("test-note", commit=False)
        job.status, job.claimed_by, job.attempts = "running", gone, 1
        job.lease_until = utcnow() + timedelta(minutes=5)  # not lapsed: its holder is gone
        alive = jobs.enqueue("test-note", commit=False)
        alive.status, alive.attempts = "running", 1
        alive.claimed_by = leases.process_identity()  # this process: alive
        alive.lease_until = utcnow() + timedelta(minutes=5)
        db.session.commit()
        job_id, alive_id = job.id, alive.id

        assert [(r.job_id, r.outcome) for r in jobs.recover_abandoned()] == [(job_id, "queued")]
        assert db.session.get(LabJob, alive_id).status == "running"
        again = jobs.claim(gone)  # claimed again (by whoever), its second attempt
        assert (again.id, again.attempts) == (job_id, 2)
        again.lease_until = utcnow() - timedelta(seconds=1)  # lapsed: another host's worker
        db.session.commit()
        assert [(r.job_id, r.outcome) for r in jobs.recover_abandoned()] == [(job_id, "failed")]
        row = db.session.get(LabJob, job_id)
        assert row.status == "failed" and row.error == jobs.WORKER_DIED_MESSAGE


def test_a_start_whose_worker_died_twice_fails_with_a_message_for_the_trainee(app):
    """The start job is retried once, then the trainee's session says it failed."""
    _, token = create_user(app, "ines@example.org")
    api = ApiClient(app, token)
    gone = dead_identity()
    with app.app_context():
        # Nobody runs the queue: we play the dead worker. The stopped worker stays the
        # app's (a stopped one would otherwise be replaced by a fresh one on next use).
        worker = workers.inline_worker(app)
        worker.stop()
        worker.stopped = False
    started = api.start("tiny-lab")
    assert started.status_code == 202
    session_id = started.json["id"]
    with app.app_context():
        for attempt in (1, 2):
            job = db.session.scalar(select(LabJob).where(LabJob.session_id == session_id))
            assert (job.kind, job.status) == ("start", "queued")
            job.status, job.claimed_by, job.attempts = "running", gone, attempt
            db.session.commit()
            outcome = jobs.recover_abandoned()[0].outcome
            assert outcome == ("queued" if attempt == 1 else "failed")
    body = api.session(session_id)
    assert body["status"] == "failed"
    assert body["error"] == START_FAILED_MESSAGE
    with app.app_context():
        assert db.session.get(LabSession, session_id).end_reason == "interrupted"
    del app.extensions[workers.WORKER_KEY]  # a new worker runs the stop of what was left
    assert workers.wait_drained(app, 30)


def test_one_holder_per_lease_until_it_lapses_or_its_holder_dies(app):
    gone = dead_identity()
    with app.app_context():
        assert leases.acquire("reaper", timedelta(minutes=5), holder="host-a|1|1")
        assert not leases.acquire("reaper", timedelta(minutes=5), holder="host-b|2|2")
        assert leases.acquire("reaper", timedelta(minutes=5), holder="host-a|1|1")  # renewed
        leases.release("reaper", holder="host-a|1|1")
        assert leases.acquire("reaper", timedelta(minutes=5), holder=gone)
        # Held, not lapsed, but its holder (a process of this machine) is gone.
        assert leases.acquire("reaper", timedelta(minutes=5), holder="host-b|2|2")
        row = db.session.get(LabLease, "reaper")
        row.until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert leases.acquire("reaper", timedelta(minutes=5), holder="host-c|3|3")
        assert db.session.get(LabLease, "reaper").holder == "host-c|3|3"


def test_simultaneous_takers_of_a_lease_get_it_once(app):
    winners = []
    barrier = threading.Barrier(6)

    def take(name: str) -> None:
        with app.app_context():
            barrier.wait()
            if leases.acquire("sweep-race", timedelta(minutes=5), holder=name):
                winners.append(name)
            db.session.remove()

    threads = [threading.Thread(target=take, args=(f"host-{n}|{n}|{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1


def test_the_reaper_prunes_jobs_that_ended_a_day_ago(app):
    with app.app_context():
        old, recent, queued = (jobs.enqueue("test-note", commit=False) for _ in range(3))
        old.status, old.finished_at = "done", utcnow() - timedelta(days=2)
        recent.status, recent.finished_at = "failed", utcnow() - timedelta(hours=1)
        queued.run_after = utcnow() + timedelta(days=3)  # not due: left for later
        db.session.commit()
        old_id = old.id
        assert jobs.prune() == 1
        assert db.session.get(LabJob, old_id) is None
        assert db.session.scalar(select(func.count()).select_from(LabJob)) == 2


def test_with_external_workers_the_web_tier_only_queues(tmp_path):
    from lms.labs import app_runtime, health

    app = make_lab_app(tmp_path, LMS_LAB_WORKER="external")
    fake = app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    try:
        _, token = create_user(app, "olga@example.org")
        api = ApiClient(app, token)
        refused = api.start("tiny-lab")  # no worker has reported: nobody would start it
        assert refused.status_code == 503
        with app.app_context():
            assert db.session.scalar(select(func.count()).select_from(LabSession)) == 0
            health.engine_health().mark(True)  # what a worker's heartbeat records

        queued = api.start("tiny-lab")
        assert queued.status_code == 202
        assert api.session(queued.json["id"])["status"] == "starting"
        assert fake.labs == {} and workers.WORKER_KEY not in app.extensions

        worker = workers.run_external(app, threads=1)  # what `lms labs worker` runs
        try:
            assert api.wait_settled(queued.json["id"])["status"] == "running"
        finally:
            worker.stop()
        assert len(fake.labs) == 1
    finally:
        close_lab_app(app)
