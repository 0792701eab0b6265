"""The lab job queue: engine work (starts, stops, pool refills, ...) as rows of ``lab_jobs``
that lab workers (``lms.labs.workers``: a thread of the web process, or ``lms labs
worker`` processes) claim and run. Web requests only enqueue.

Using it from another module (pools, for example)::

    from lms.labs import jobs

    @jobs.handler("refill", max_attempts=3)
    def refill_pool(job: jobs.LabJob) -> None:
        pool_id = job.payload["pool"]      # JSON given to enqueue
        ...                                # runs on a worker thread, in an app context

    jobs.enqueue("refill", payload={"pool": 3})               # commits, wakes a worker
    jobs.enqueue("refill", payload={"pool": 3}, delay=60)     # not before a minute from now

- Register handlers at import of a module that ``lms.labs`` imports when the app is made
  (``services`` is imported by the views): every worker process must know every kind.
- A handler that returns has done the job (``done``); one that raises ``Retry`` is queued
  again (``Retry("why", after=seconds)``) until ``max_attempts``; any other exception fails
  it (``failed``, the message in ``error``). A handler may set ``job.result`` (JSON).
- Claims are exactly-once across processes and hosts: ``FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, one conditional UPDATE under SQLite's write lock. A running job carries its
  worker's identity (``claimed_by``) and a lease its worker renews; when the worker died
  (``leases.holder_is_gone`` on its host, else the lease lapsed), ``recover_abandoned`` (run
  by the reaper) queues the job again, or fails it once its attempts are used up. A kind
  may pass ``abandoned=fn(job, final) -> bool`` to settle such a job itself (a start finds
  its lab already complete) or to tell the trainee (``final``: no retry follows).
- Handlers must be idempotent: a job may run again after its worker died half-way.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, Index, String, Text, delete, func, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs import leases

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
OPEN_STATUSES = (QUEUED, RUNNING)
JOB_LEASE = timedelta(seconds=60)  # a worker renews the lease of its running jobs
LEASE_RENEW_SECONDS = 15.0
NOTIFY_CHANNEL = "lms_lab_jobs"  # PostgreSQL: workers LISTEN here; enqueue NOTIFYs
WORKER_DIED_MESSAGE = "its lab worker stopped while running it"


class LabJob(db.Model):
    """One piece of engine work, from ``queued`` to ``done`` or ``failed``."""

    __tablename__ = "lab_jobs"
    __table_args__ = (Index("ix_lab_jobs_claim", "status", "run_after", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("lab_sessions.id", ondelete="SET NULL"), index=True
    )
    payload_json: Mapped[str] = mapped_column(Text, default="{}")
    result_json: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    claimed_by: Mapped[str | None] = mapped_column(String(200))  # leases.process_identity
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def payload(self) -> dict:
        return json.loads(self.payload_json or "{}")

    @property
    def result(self):
        return json.loads(self.result_json) if self.result_json else None

    @result.setter
    def result(self, value) -> None:
        self.result_json = json.dumps(value)


class Retry(Exception):  # noqa: N818 - read as "raise Retry(...)"
    """Raised by a handler: run this job again ``after`` seconds (until max_attempts)."""

    def __init__(self, message: str = "", after: float = 5.0):
        super().__init__(message)
        self.after = after


@dataclass(frozen=True)
class Handler:
    run: Callable[[LabJob], None]
    max_attempts: int
    abandoned: Callable[[LabJob, bool], bool] | None


_handlers: dict[str, Handler] = {}
# In-process wake-ups: an inline worker registers itself here, so a job enqueued by this
# process is claimed at once, without waiting for a poll.
_wakers: list[Callable[[], None]] = []
_wakers_lock = threading.Lock()
_launcher: list[Callable[[], None]] = []  # workers.launch_for_enqueue: starts an inline worker


def handler(kind: str, max_attempts: int = 3, abandoned=None):
    """Register the function that runs jobs of ``kind`` (a decorator)."""

    def register(run: Callable[[LabJob], None]):
        _handlers[kind] = Handler(run, max_attempts, abandoned)
        return run

    return register


def handler_for(kind: str) -> Handler | None:
    return _handlers.get(kind)


def add_waker(wake: Callable[[], None]) -> None:
    with _wakers_lock:
        _wakers.append(wake)


def remove_waker(wake: Callable[[], None]) -> None:
    with _wakers_lock:
        if wake in _wakers:
            _wakers.remove(wake)


def set_launcher(launch: Callable[[], None]) -> None:
    _launcher[:] = [launch]


def wake_workers() -> None:
    for launch in _launcher:
        launch()
    with _wakers_lock:
        wakers = list(_wakers)
    for wake in wakers:
        wake()


# -- enqueue and claim ----------------------------------------------------------------------


def enqueue(
    kind: str,
    session_id: int | None = None,
    payload: dict | None = None,
    delay: float = 0.0,
    commit: bool = True,
) -> LabJob:
    """Queue a job of ``kind`` and wake a worker; commits the session unless ``commit`` is
    False (then the caller commits, and the job is claimed after that)."""
    known = _handlers.get(kind)
    job = LabJob(
        kind=kind,
        session_id=session_id,
        payload_json=json.dumps(payload or {}),
        status=QUEUED,
        run_after=utcnow() + timedelta(seconds=delay),
        max_attempts=known.max_attempts if known else 3,
    )
    db.session.add(job)
    db.session.flush()
    if db.session.get_bind().dialect.name == "postgresql":
        # Delivered at commit, to every worker listening (workers._listen).
        db.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": NOTIFY_CHANNEL})
    if commit:
        db.session.commit()
        wake_workers()
    return job


def claim(worker: str, kinds: tuple[str, ...] | None = None) -> LabJob | None:
    """Take the oldest due job for ``worker``, or None. Exactly once across processes."""
    now = utcnow()
    candidate = (
        select(LabJob.id)
        .where(LabJob.status == QUEUED, LabJob.run_after <= now)
        .order_by(LabJob.id)
        .limit(1)
        # PostgreSQL: concurrent claimers skip the row another holds and take the next.
        # SQLite ignores it: the UPDATE below runs under the database's write lock.
        .with_for_update(skip_locked=True)
    )
    if kinds:
        candidate = candidate.where(LabJob.kind.in_(kinds))
    claimed = db.session.execute(
        update(LabJob)
        .where(LabJob.id == candidate.scalar_subquery(), LabJob.status == QUEUED)
        .values(
            status=RUNNING,
            claimed_by=worker,
            lease_until=now + JOB_LEASE,
            attempts=LabJob.attempts + 1,
            started_at=now,
        )
        .returning(LabJob.id)
    ).scalar()
    db.session.commit()
    return db.session.get(LabJob, claimed) if claimed is not None else None


def run(job: LabJob, worker: str) -> str:
    """Run a claimed job's handler and record how it ended: done, queued (retry) or failed."""
    known = _handlers.get(job.kind)
    job_id = job.id
    try:
        if known is None:
            raise LookupError(f"no handler for lab jobs of kind {job.kind!r}")
        known.run(job)
    except Retry as exc:
        db.session.rollback()
        return _finish(job_id, worker, error=str(exc) or "retry", retry_after=exc.after)
    except Exception as exc:
        db.session.rollback()
        log.exception("lab job %s (%s) failed", job_id, job.kind)
        return _finish(job_id, worker, error=str(exc) or type(exc).__name__)
    result = job.result_json
    db.session.commit()
    return _finish(job_id, worker, result_json=result)


def _finish(
    job_id: int,
    worker: str,
    error: str | None = None,
    retry_after: float | None = None,
    result_json: str | None = None,
) -> str:
    job = db.session.get(LabJob, job_id)
    if job is None:
        return DONE
    if retry_after is not None and job.attempts < job.max_attempts:
        status, values = QUEUED, {"run_after": utcnow() + timedelta(seconds=retry_after)}
    else:
        status, values = (FAILED if error else DONE), {"finished_at": utcnow()}
    # Only the worker that holds it records its end: a job taken back from a worker
    # presumed dead is not overwritten by that worker waking up.
    db.session.execute(
        update(LabJob)
        .where(LabJob.id == job_id, LabJob.status == RUNNING, LabJob.claimed_by == worker)
        .values(
            status=status,
            error=error,
            result_json=result_json,
            lease_until=None,
            claimed_by=None if status == QUEUED else worker,
            **values,
        )
    )
    db.session.commit()
    _tell_waiter(job_id)
    return status


def renew(job_ids: set[int], worker: str) -> None:
    """Extend the lease of the jobs ``worker`` runs."""
    if not job_ids:
        return
    db.session.execute(
        update(LabJob)
        .where(LabJob.id.in_(job_ids), LabJob.status == RUNNING, LabJob.claimed_by == worker)
        .values(lease_until=utcnow() + JOB_LEASE)
    )
    db.session.commit()


# -- jobs whose worker died ---------------------------------------------------------------


@dataclass
class Recovered:
    job_id: int
    kind: str
    session_id: int | None
    outcome: str  # settled (by the kind's abandoned hook) | queued | failed


def recover_abandoned() -> list[Recovered]:
    """Queue again (or fail, attempts used up) the running jobs whose worker died."""
    now = utcnow()
    running = db.session.execute(
        select(LabJob.id, LabJob.claimed_by, LabJob.lease_until).where(LabJob.status == RUNNING)
    ).all()
    db.session.commit()
    recovered = []
    for job_id, holder, lease_until in running:
        if (lease_until is None or lease_until >= now) and not leases.holder_is_gone(holder):
            continue
        outcome = _take_back(job_id, holder)
        if outcome is not None:
            recovered.append(outcome)
    return recovered


def _take_back(job_id: int, holder: str | None) -> Recovered | None:
    job = db.session.get(LabJob, job_id)
    if job is None or job.status != RUNNING or job.claimed_by != holder:
        return None
    final = job.attempts >= job.max_attempts
    known = _handlers.get(job.kind)
    settled = False
    if known is not None and known.abandoned is not None:
        try:
            settled = bool(known.abandoned(job, final))
        except Exception:
            db.session.rollback()
            log.exception("lab job %s (%s): its abandoned hook failed", job_id, job.kind)
    if settled:
        status, outcome = DONE, "settled"
    else:
        status, outcome = (FAILED, "failed") if final else (QUEUED, "queued")
    taken = db.session.execute(
        update(LabJob)
        .where(LabJob.id == job_id, LabJob.status == RUNNING, LabJob.claimed_by == holder)
        .values(
            status=status,
            claimed_by=None,
            lease_until=None,
            run_after=utcnow(),
            error=WORKER_DIED_MESSAGE,
            finished_at=None if status == QUEUED else utcnow(),
        )
    ).rowcount
    db.session.commit()
    if not taken:
        return None
    log.warning("lab job %s (%s): %s; %s", job_id, job.kind, WORKER_DIED_MESSAGE, outcome)
    return Recovered(job_id, job.kind, job.session_id, outcome)


# -- waiting for a job ---------------------------------------------------------------------------

_finished: dict[int, threading.Event] = {}  # jobs a thread of this process waits for
_finished_lock = threading.Lock()


def wait_finished(job_id: int, timeout: float) -> LabJob | None:
    """Wait until the job is done or failed; None after ``timeout`` seconds. A worker of
    this process wakes the waiter at once; another process's is seen by polling."""
    event = threading.Event()
    with _finished_lock:
        _finished[job_id] = event
    deadline = time.monotonic() + timeout
    pause = 0.02
    try:
        while True:
            status = db.session.scalar(select(LabJob.status).where(LabJob.id == job_id))
            db.session.commit()  # end the read: the next one sees the worker's commit
            if status in (DONE, FAILED):
                job = db.session.get(LabJob, job_id)
                db.session.refresh(job)
                return job
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            event.wait(min(pause, left))
            pause = min(pause * 2, 0.25)
    finally:
        with _finished_lock:
            _finished.pop(job_id, None)


def _tell_waiter(job_id: int) -> None:
    with _finished_lock:
        event = _finished.get(job_id)
    if event is not None:
        event.set()


def prune(keep: timedelta = timedelta(days=1)) -> int:
    """Delete the jobs that ended more than ``keep`` ago (the reaper calls it)."""
    gone = db.session.execute(
        delete(LabJob).where(
            LabJob.status.in_((DONE, FAILED)), LabJob.finished_at < utcnow() - keep
        )
    ).rowcount
    db.session.commit()
    return gone


# -- reading the queue ------------------------------------------------------------------------


def open_jobs(session_id: int | None = None) -> int:
    """Jobs queued and due, or running (of one session, when given)."""
    query = (
        select(func.count())
        .select_from(LabJob)
        .where(
            (LabJob.status == RUNNING)
            | ((LabJob.status == QUEUED) & (LabJob.run_after <= utcnow()))
        )
    )
    if session_id is not None:
        query = query.where(LabJob.session_id == session_id)
    count = db.session.scalar(query)
    db.session.commit()
    return count


def sessions_with_open_jobs() -> set[int]:
    """Sessions with a job queued or running: a worker has them, or will."""
    return set(
        db.session.scalars(
            select(LabJob.session_id).where(
                LabJob.status.in_(OPEN_STATUSES), LabJob.session_id.is_not(None)
            )
        )
    )


# -- "call": a function of lms.labs by name (workers.background().submit, kept) ----------------


def function_name(function: Callable) -> str:
    return f"{function.__module__}:{function.__qualname__}"


@handler("call")
def _call(job: LabJob) -> None:
    """Run ``payload["function"](*payload["args"])``: only functions of lms.labs."""
    import importlib

    module_name, _, qualname = job.payload["function"].partition(":")
    if not module_name.startswith("lms.labs.") or "." in qualname:
        raise LookupError(f"lab jobs may not call {job.payload['function']!r}")
    getattr(importlib.import_module(module_name), qualname)(*job.payload.get("args", []))
