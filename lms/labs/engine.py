"""The lab runtime of an app, its background workers and what we know of the engine's health.

One of each per app, created on first use (``create_app`` does no I/O):
``app.extensions["lab_runtime"]`` may be set beforehand to inject another
runtime (a fake for unit tests).

Web requests never wait on the container engine: starts and stops run on a
bounded thread pool (``LMS_START_LAB_WORKERS``), and whether the engine is up
is answered from a cached probe that a request waits on for at most a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait

from flask import Flask, current_app

from lms.content.lab_model import parse_size
from lms.labs.errors import NOT_ANSWERING_MESSAGE, UNAVAILABLE_MESSAGE
from lms.labs.runtime import EngineNotAnswering, EngineUnavailable, LabRuntime, get_runtime

log = logging.getLogger(__name__)

RUNTIME_KEY = "lab_runtime"
WORKERS_KEY = "lab_workers"
HEALTH_KEY = "lab_engine_health"
_create_lock = threading.Lock()


def _once_per_app(app: Flask | None, key: str, create):
    """``app.extensions[key]``, made by ``create(app)`` the first time, even under threads."""
    app = app or current_app._get_current_object()
    value = app.extensions.get(key)
    if value is None:
        with _create_lock:
            value = app.extensions.get(key)
            if value is None:
                value = app.extensions[key] = create(app)
    return value


def lab_runtime(app: Flask | None = None) -> LabRuntime:
    """The app's runtime, bounded by the platform maximums of the configuration."""

    def create(app: Flask) -> LabRuntime:
        config = app.config
        return get_runtime(
            config.get("LMS_DOCKER_URL"),
            memory_bytes=parse_size(config["LMS_LAB_MAX_MEMORY"]),
            cpus=float(config["LMS_LAB_MAX_CPUS"]),
            pids=int(config["LMS_LAB_MAX_PIDS"]),
        )

    return _once_per_app(app, RUNTIME_KEY, create)


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

    def submit(self, job: Callable, *args) -> Future:
        future = self._pool.submit(self._run, job, *args)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def submit_start(self, job: Callable, session_id: int) -> Future:
        """Run ``job(session_id)``, renewing the session's start lease until it ends, so
        no other process takes the start for one its dead owner left behind."""
        with self._lock:
            self._leases.add(session_id)
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
        from lms.extensions import db
        from lms.labs import services

        while True:
            time.sleep(services.LEASE_RENEW_SECONDS)
            with self._lock:
                held = set(self._leases)
                if not held:
                    self._lease_keeper = None
                    return
            with self._app.app_context():
                try:
                    services.renew_start_leases(held)
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
    return _once_per_app(
        app,
        WORKERS_KEY,
        lambda app: BackgroundWorkers(app, int(app.config["LMS_START_LAB_WORKERS"])),
    )


class EngineHealth:
    """The last known state of the engine, refreshed by a probe at most every few seconds.

    ``known_down`` never contacts the engine (pages use it); ``is_up`` may
    probe, but waits for it at most ``wait`` seconds: a hung engine costs a
    request one second, not a worker. The probe's own calls time out within
    seconds (the runtime's quick client), so a hang is noticed that fast and
    told apart from an engine that refuses connections (``not_answering``).
    """

    UP_TTL = 5.0  # seconds a successful probe (or start) is trusted
    DOWN_TTL = 5.0  # seconds a failure is trusted before probing again

    def __init__(self, runtime_of: Callable[[], LabRuntime]):
        self._runtime_of = runtime_of
        self._up: bool | None = None
        self._not_answering = False
        self._checked = 0.0
        self._probe: threading.Thread | None = None
        self._probe_started = 0.0
        self._done = threading.Event()
        self._lock = threading.Lock()

    def mark(self, up: bool, not_answering: bool = False) -> None:
        with self._lock:
            self._up, self._checked = up, time.monotonic()
            self._not_answering = not up and not_answering

    def mark_failure(self, exc: EngineUnavailable) -> None:
        """Record what an engine call found: unreachable, or not answering (a hang)."""
        self.mark(False, not_answering=isinstance(exc, EngineNotAnswering))

    @property
    def not_answering(self) -> bool:
        """The engine took the connection but did not answer: the last call timed out,
        or the probe in flight has waited longer than a request ever does."""
        with self._lock:
            probing = self._probe is not None and self._probe.is_alive()
            return (self._up is False and self._not_answering) or (
                probing and time.monotonic() - self._probe_started > 0.5
            )

    def unavailable_message(self) -> str:
        """What to tell a trainee whose start is refused."""
        return NOT_ANSWERING_MESSAGE if self.not_answering else UNAVAILABLE_MESSAGE

    def known_down(self) -> bool:
        with self._lock:
            return self._up is False and time.monotonic() - self._checked < 60.0

    def is_up(self, wait: float = 1.0) -> bool:
        with self._lock:
            age = time.monotonic() - self._checked
            if self._up is not None and age < (self.UP_TTL if self._up else self.DOWN_TTL):
                return self._up
            if self._probe is None or not self._probe.is_alive():
                self._done = threading.Event()
                self._probe = threading.Thread(
                    target=self._ping, args=(self._done,), name="lab-engine-probe", daemon=True
                )
                self._probe_started = time.monotonic()
                self._probe.start()
            done = self._done
        if not done.wait(wait):
            return False
        with self._lock:
            return bool(self._up)

    def _ping(self, done: threading.Event) -> None:
        try:
            self._runtime_of().ping()
            self.mark(True)
        except EngineUnavailable as exc:
            log.warning("lab engine unavailable: %s", exc)
            self.mark_failure(exc)
        except Exception:
            log.exception("probing the lab engine failed")
            self.mark(False)
        finally:
            done.set()


def engine_health(app: Flask | None = None) -> EngineHealth:
    app = app or current_app._get_current_object()
    health = app.extensions.get(HEALTH_KEY)
    if health is None:
        with _create_lock:
            health = app.extensions.get(HEALTH_KEY)
            if health is None:
                health = EngineHealth(lambda: lab_runtime(app))
                app.extensions[HEALTH_KEY] = health
    return health
