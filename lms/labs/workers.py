"""The lab background workers of an app: web requests never wait on the container engine,
so starts and stops run on a bounded thread pool (``LMS_START_LAB_WORKERS``), one per app.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask

from lms.extensions import db
from lms.labs.app_runtime import once_per_app

WORKERS_KEY = "lab_workers"


class BackgroundWorkers:
    """A bounded thread pool whose jobs run inside an app context.

    Jobs log their own failures; ``wait_idle`` lets tests, the CLI and the
    benchmark wait for the starts and stops they caused.
    """

    def __init__(self, app: Flask, workers: int):
        self._app = app
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="lab-worker"
        )
        self._pending: set[Future] = set()
        self._lock = threading.Lock()
        self._leases: set[int] = set()  # sessions whose start this process queued or runs
        self._lease_keeper: threading.Thread | None = None
        self._renew: tuple[Callable[[set[int]], None], float] | None = None

    def submit(self, job: Callable, *args) -> Future:
        future = self._pool.submit(self._run, job, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def submit_start(
        self, job: Callable, session_id: int, renew: Callable[[set[int]], None], every: float
    ) -> Future:
        """Run ``job(session_id)``, calling ``renew(ids of the starts held)`` every ``every``
        seconds until it ends, so no other process takes the start for one its dead owner
        left behind."""
        with self._lock:
            self._leases.add(session_id)
            self._renew = (renew, every)
            if self._lease_keeper is None or not self._lease_keeper.is_alive():
                self._lease_keeper = threading.Thread(
                    target=self._keep_leases, name="lab-start-leases", daemon=True
                )
                self._lease_keeper.start()
        future = self.submit(job, session_id)
        future.add_done_callback(lambda _: self._release(session_id))
        return future

    def _release(self, session_id: int) -> None:
        with self._lock:
            self._leases.discard(session_id)

    def _keep_leases(self) -> None:
        while True:
            time.sleep(self._renew[1])
            with self._lock:
                held = set(self._leases)
                renew = self._renew[0]
                if not held:
                    self._lease_keeper = None
                    return
            with self._app.app_context():
                try:
                    renew(held)
                except Exception:
                    self._app.logger.exception("renewing the leases of lab starts failed")
                finally:
                    db.session.remove()

    def _run(self, job: Callable, *args) -> None:
        with self._app.app_context():
            try:
                job(*args)
            except Exception:
                self._app.logger.exception("lab background job %s failed", job.__name__)

    def _forget(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until every job submitted so far (and those they submit) has finished."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = set(self._pending)
            if not pending:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            wait(pending, timeout=left)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=False)


def background(app: Flask | None = None) -> BackgroundWorkers:
    return once_per_app(
        app,
        WORKERS_KEY,
        lambda app: BackgroundWorkers(app, int(app.config["LMS_START_LAB_WORKERS"])),
    )
