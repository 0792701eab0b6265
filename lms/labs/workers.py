"""Lab workers: the processes and threads that claim lab jobs (``lms.labs.jobs``) and run
them, and that keep the engine and the database in agreement (``lms.labs.reaper``).

``LMS_LAB_WORKER`` says where they run:

- ``inline`` (the default; ``make run``): each web process runs one worker on threads of
  its own, started on its first request (or its first job). A job it enqueues wakes it
  directly.
- ``external``: web processes only enqueue; ``lms labs worker`` processes (one or several,
  on one host or several) claim the jobs. On PostgreSQL they LISTEN for new jobs
  (``jobs.NOTIFY_CHANNEL``) and poll every few seconds as well; on SQLite they poll.

A worker runs up to ``LMS_START_LAB_WORKERS`` jobs at a time, renews the lease of the
jobs it runs, records its heartbeat and the engine's health (``lms.labs.health``), and
every ``LMS_REAPER_INTERVAL`` seconds offers to sweep: the first worker to take the
``reaper`` lease sweeps, the others skip that round. A worker that dies (even ``kill -9``)
loses its jobs to the next sweep: queued again, or failed once their attempts are used up.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, has_app_context

from lms.extensions import db
from lms.labs import health, jobs, leases, reaper
from lms.labs.app_runtime import once_per_app
from lms.xapi import sender as xapi_sender

log = logging.getLogger(__name__)

WORKER_KEY = "lab_worker"
INLINE, EXTERNAL = "inline", "external"
POLL_SECONDS = {INLINE: 2.0, EXTERNAL: 1.0}  # a new job of another process is seen this fast
LISTEN_POLL_SECONDS = 5.0  # PostgreSQL with LISTEN: the poll is only a fallback
RECOVER_SECONDS = 15.0  # how often a worker looks for jobs of dead workers between sweeps


def worker_mode(app: Flask) -> str:
    mode = str(app.config.get("LMS_LAB_WORKER") or INLINE).lower()
    return mode if mode in (INLINE, EXTERNAL) else INLINE


class LabWorker:
    """Claims and runs lab jobs on a bounded thread pool; reaps on a thread of its own."""

    def __init__(self, app: Flask, threads: int, mode: str = INLINE):
        self.app = app
        self.mode = mode
        self.threads = max(1, threads)
        self.identity = leases.process_identity()
        self.reconciled = threading.Event()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._free = threading.Semaphore(self.threads)
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="lab-job")
        self._running: set[int] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._listens = False
        self.started = False
        self.stopped = False  # for good: an app that needs a worker again gets a new one

    # -- life ------------------------------------------------------------------------------

    def start(self, reconcile_first: bool, sweep_every: float, listen: bool = False) -> None:
        if self.started:
            return
        self.started = True
        engine_health = health.engine_health(self.app)
        engine_health.is_worker, engine_health.worker_mode = True, self.mode
        jobs.add_waker(self.wake)
        if not reconcile_first:
            self.reconciled.set()
        loops = [
            ("lab-jobs", self._dispatch),
            ("lab-maintenance", lambda: self._maintain(reconcile_first, sweep_every)),
        ]
        self._listens = listen
        if listen:
            loops.append(("lab-jobs-listen", self._listen))
        for name, target in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; wait for the jobs in hand to finish."""
        self.stopped = True
        self._stopping.set()
        self._wake.set()
        jobs.remove_waker(self.wake)
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=False)

    def run_forever(self) -> None:
        """``lms labs worker``: run until interrupted."""
        try:
            while not self._stopping.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    # -- claiming and running jobs -------------------------------------------------------------

    def _dispatch(self) -> None:
        # Starts wait for the start-up reconcile, so no start races its sweep of orphans.
        self.reconciled.wait(reaper.RECONCILE_WAIT_SECONDS)
        poll = LISTEN_POLL_SECONDS if self._listens else POLL_SECONDS[self.mode]
        while not self._stopping.is_set():
            self._wake.clear()  # before claiming: a job enqueued from now on wakes us again
            self._claim_while_free()
            self._wake.wait(poll)

    def _claim_while_free(self) -> None:
        while not self._stopping.is_set() and self._free.acquire(blocking=False):
            try:
                with self.app.app_context():
                    job = jobs.claim(self.identity)
                    job_id = job.id if job is not None else None
                    db.session.remove()
            except Exception:
                log.exception("claiming a lab job failed")
                job_id = None
            if job_id is None:
                self._free.release()
                return
            with self._lock:
                self._running.add(job_id)
            self._pool.submit(self._run_job, job_id)

    def _run_job(self, job_id: int) -> None:
        try:
            with self.app.app_context():
                try:
                    job = db.session.get(jobs.LabJob, job_id)
                    if job is not None:
                        jobs.run(job, self.identity)
                except Exception:
                    log.exception("lab job %s failed", job_id)
                finally:
                    db.session.remove()
        finally:
            with self._lock:
                self._running.discard(job_id)
            self._free.release()
            self._wake.set()  # a free thread: claim the next job

    def running_jobs(self) -> set[int]:
        with self._lock:
            return set(self._running)

    # -- leases, health, sweeps ------------------------------------------------------------------

    def _maintain(self, reconcile_first: bool, sweep_every: float) -> None:
        engine_health = health.engine_health(self.app)
        sweeper = None
        if reconcile_first:
            sweeper = self._sweep_aside(full=True)
        next_probe = next_renew = next_recover = 0.0
        next_sweep = time.monotonic() + sweep_every
        while not self._stopping.is_set():
            now = time.monotonic()
            if now >= next_probe:
                engine_health.probe()
                next_probe = now + health.PROBE_SECONDS
            if now >= next_renew:
                self._renew_leases()
                next_renew = now + jobs.LEASE_RENEW_SECONDS
            sweeping = sweeper is not None and sweeper.is_alive()
            if sweep_every > 0 and now >= next_sweep and not sweeping:
                sweeper = self._sweep_aside(full=False)
                next_sweep = now + sweep_every
            elif now >= next_recover and not sweeping:
                self._recover()
                next_recover = now + RECOVER_SECONDS
            self._stopping.wait(1.0)

    def _sweep_aside(self, full: bool) -> threading.Thread:
        """Sweep on a thread of its own: a long reconcile must not delay the heartbeat and
        engine probe (the web tier refuses starts when they are stale)."""

        def sweep() -> None:
            try:
                reaper.run_sweep(self.app, full=full)
            finally:
                self.reconciled.set()

        thread = threading.Thread(target=sweep, name="lab-sweep", daemon=True)
        thread.start()
        return thread

    def _renew_leases(self) -> None:
        held = self.running_jobs()
        if not held:
            return
        with self.app.app_context():
            try:
                jobs.renew(held, self.identity)
            except Exception:
                log.exception("renewing the leases of lab jobs failed")
            finally:
                db.session.remove()

    def _recover(self) -> None:
        """Between sweeps, take back the jobs of dead workers (cheap: one query)."""
        with self.app.app_context():
            try:
                if jobs.recover_abandoned():
                    self.wake()
            except Exception:
                log.exception("recovering the lab jobs of dead workers failed")
            finally:
                db.session.remove()

    # -- PostgreSQL: LISTEN for new jobs ------------------------------------------------------------

    def _listen(self) -> None:
        import psycopg

        with self.app.app_context():
            url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stopping.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(f"LISTEN {jobs.NOTIFY_CHANNEL}")
                    self.wake()  # jobs queued while we were not listening
                    while not self._stopping.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self.wake()
            except Exception as exc:
                log.warning("listening for lab jobs failed (polling meanwhile): %s", exc)
                self._stopping.wait(LISTEN_POLL_SECONDS)


# This process's inline workers, for gunicorn's worker_exit (weak: a test's app may go).
_inline_workers: weakref.WeakSet[LabWorker] = weakref.WeakSet()


def _create_inline(app: Flask) -> LabWorker:
    worker = LabWorker(app, int(app.config["LMS_START_LAB_WORKERS"]), INLINE)
    _inline_workers.add(worker)
    return worker


def stop_all_inline(timeout: float = 15.0) -> None:
    """Let this process's inline workers finish the jobs in hand, claiming no more (a web
    server that stops gracefully). Jobs still running when it is killed are taken back
    by the next sweep."""
    for worker in list(_inline_workers):
        if worker.started:
            worker.stop(timeout)


def inline_worker(app: Flask) -> LabWorker | None:
    """This web process's own worker (``LMS_LAB_WORKER=inline``), started on first use;
    None with external workers."""
    if worker_mode(app) != INLINE:
        return None
    worker = once_per_app(app, WORKER_KEY, _create_inline)
    if worker.stopped or not worker.started:
        with _start_lock:
            worker = app.extensions[WORKER_KEY]
            if worker.stopped:  # stopped with the app's last use (a test's end): afresh
                worker = app.extensions[WORKER_KEY] = _create_inline(app)
            if not worker.started:
                testing = bool(app.config.get("TESTING"))
                # Tests reap when they mean to; a server reconciles once (the gunicorn hook
                # may have done it already) and sweeps every LMS_REAPER_INTERVAL.
                reconcile_first = not testing and not reaper.reconciled_by_server()
                if reconcile_first:
                    reaper.log_key_prefix(app)
                interval = float(app.config.get("LMS_REAPER_INTERVAL") or 0)
                worker.start(reconcile_first, 0.0 if testing else interval)
    return worker


_start_lock = threading.Lock()


def run_external(app: Flask, threads: int | None = None) -> LabWorker:
    """Start an external worker (``lms labs worker``): reconcile, then claim jobs."""
    worker = LabWorker(app, threads or int(app.config["LMS_START_LAB_WORKERS"]), EXTERNAL)
    app.extensions[WORKER_KEY] = worker
    with app.app_context():
        listen = db.engine.dialect.name == "postgresql"
    reaper.log_key_prefix(app)
    worker.start(
        reconcile_first=True,
        sweep_every=float(app.config.get("LMS_REAPER_INTERVAL") or 0),
        listen=listen,
    )
    # With external workers, they send the queued xAPI statements too (web processes don't).
    xapi_sender.start_in_process(app)
    return worker


def wait_drained(app: Flask, timeout: float = 60.0) -> bool:
    """Wait until no lab job is queued (and due) or running: for tests, the CLI and the
    benchmark, after the starts and stops they caused. An inline worker is started."""
    inline_worker(app)
    deadline = time.monotonic() + timeout
    while True:
        with app.app_context():
            try:
                left = jobs.open_jobs()
            finally:
                db.session.remove()
        if not left:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def stop_inline(app: Flask) -> None:
    worker = app.extensions.get(WORKER_KEY)
    if worker is not None and worker.started:
        worker.stop()


class BackgroundCompat:
    """``workers.background()`` of before the job queue, for callers not yet moved to job
    handlers (``jobs.handler``): ``submit(fn, *args)`` queues a ``call`` job that runs
    ``fn(*args)`` on a lab worker (``fn`` a module-level function of lms.labs, ``args``
    JSON values such as ids), ``wait_idle`` waits for the queue to drain."""

    def __init__(self, app: Flask):
        self.app = app

    def submit(self, function, *args) -> None:
        self._enqueue(None, function, args)

    def submit_start(self, function, session_id: int, renew=None, every=None) -> None:
        self._enqueue(session_id, function, (session_id,))

    def _enqueue(self, session_id, function, args) -> None:
        payload = {"function": jobs.function_name(function), "args": list(args)}
        if has_app_context():
            jobs.enqueue("call", session_id, payload)
            return
        with self.app.app_context():
            try:
                jobs.enqueue("call", session_id, payload)
            finally:
                db.session.remove()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        return wait_drained(self.app, timeout)

    def shutdown(self) -> None:
        stop_inline(self.app)


def background(app: Flask | None = None) -> BackgroundCompat:
    from flask import current_app

    return BackgroundCompat(app or current_app._get_current_object())


def launch_for_enqueue() -> None:
    """Called by ``jobs.enqueue``: a web process whose worker runs inline starts it."""
    from flask import current_app

    inline_worker(current_app._get_current_object())


jobs.set_launcher(launch_for_enqueue)
