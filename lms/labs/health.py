"""What we know of the container engine's health, as the lab workers recorded it.

Lab workers (``lms.labs.workers``) probe the engine every few seconds and after each
engine call, and record what they found in ``lab_workers`` (one row per worker process,
with its heartbeat). The web tier reads those rows and never pings the engine itself:
a start is refused when the freshest record says the engine is down, or when no worker
has reported lately (external workers: none is running). A web process that runs its
worker inline asks it for a probe when the record is stale and waits at most a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import String, Text, or_, select, update
from sqlalchemy.orm import Mapped, mapped_column

from lms.auth.models import utcnow
from lms.database import insert_on_conflict
from lms.extensions import db
from lms.labs import leases
from lms.labs.app_runtime import lab_runtime, once_per_app
from lms.labs.errors import NOT_ANSWERING_MESSAGE, UNAVAILABLE_MESSAGE
from lms.labs.runtime import EngineNotAnswering, EngineUnavailable, LabRuntime

log = logging.getLogger(__name__)

HEALTH_KEY = "lab_engine_health"
PROBE_SECONDS = 5.0  # a worker probes the engine this often
FIRST_PROBE_WAIT = 5.0  # seconds a request waits on a first probe (no outcome recorded yet)
RECORD_FRESH = timedelta(seconds=15)  # an older record (or heartbeat) is not trusted
DOWN_REMEMBERED = timedelta(seconds=60)  # pages say "down" for this long after a failure


class WorkerRecord(db.Model):
    """A lab worker process: its heartbeat and what it last found of the engine."""

    __tablename__ = "lab_workers"

    identity: Mapped[str] = mapped_column(String(200), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), default="inline")  # inline | external
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    engine_up: Mapped[bool | None]
    engine_not_answering: Mapped[bool] = mapped_column(default=False)
    engine_checked_at: Mapped[datetime | None]
    engine_error: Mapped[str | None] = mapped_column(Text)


def live_workers() -> list[WorkerRecord]:
    """Processes that reported within RECORD_FRESH, freshest engine record first."""
    return list(
        db.session.scalars(
            select(WorkerRecord)
            .where(WorkerRecord.seen_at >= utcnow() - RECORD_FRESH)
            .order_by(WorkerRecord.engine_checked_at.desc())
        )
    )


def freshest_record():
    """The latest engine record of any worker: a row with ``engine_up``,
    ``engine_not_answering`` and ``engine_checked_at``, or None.

    Read on the caller's own connection: a request that took a second connection from
    the pool while holding one could wait forever once a class's burst of starts holds
    every connection (each waiting for its second)."""
    return db.session.execute(
        select(
            WorkerRecord.engine_up,
            WorkerRecord.engine_not_answering,
            WorkerRecord.engine_checked_at,
        )
        .where(WorkerRecord.engine_checked_at.is_not(None))
        .order_by(WorkerRecord.engine_checked_at.desc())
        .limit(1)
    ).first()


class EngineHealth:
    """The engine's health for one app: recorded by workers, read by the web tier.

    Worker side: ``probe`` pings the engine; ``mark``/``mark_failure`` record an outcome
    (this process's row of ``lab_workers``). Web side: ``is_up``, ``known_down`` and
    ``not_answering`` read the records. A hang is told apart from an engine that refuses
    connections (``not_answering``).
    """

    UP_TTL = 5.0  # seconds a record is trusted before an inline worker probes again
    DOWN_TTL = 5.0
    REWRITE_SECONDS = 2.0

    def __init__(self, app: Flask, runtime_of: Callable[[], LabRuntime]):
        self._app = app
        self._runtime_of = runtime_of
        self._probe: threading.Thread | None = None
        self._probe_started = 0.0
        self._done = threading.Event()
        self._lock = threading.Lock()
        # This process's last probe (up, not answering, monotonic time): a request waiting
        # on the probe reads it at once, before it is written to the database.
        self._last: tuple[bool, bool, float] | None = None
        self._written: tuple[bool, bool] | None = None  # the last outcome written, and when
        self._written_at = 0.0
        self._last_observed_at: datetime | None = None
        self.worker_mode = "inline"
        self.is_worker = False  # this process runs a lab worker (set by workers.LabWorker)

    # -- worker side -----------------------------------------------------------------------

    def mark(
        self,
        up: bool,
        not_answering: bool = False,
        error: str | None = None,
        observed_at: datetime | None = None,
    ) -> None:
        """Record an outcome of the engine in this process's row (its own connection, so
        the caller's transaction is left alone). An outcome that only repeats the one
        written less than REWRITE_SECONDS ago is not written again (a burst of starts
        costs no write each).

        ``observed_at`` is when the engine was asked (default: now). An outcome observed
        before the one already recorded is dropped: a slow probe that saw the engine down
        must not overwrite a later "up" written while it was finishing."""
        observed_at = observed_at or utcnow()
        state = (up, not up and not_answering)
        with self._lock:
            if self._last_observed_at is not None and observed_at < self._last_observed_at:
                return
            self._last_observed_at = observed_at
            self._last = (*state, time.monotonic())
            if (
                self._written == state
                and time.monotonic() - self._written_at < self.REWRITE_SECONDS
            ):
                return
            self._written, self._written_at = state, time.monotonic()
        values = {
            "seen_at": utcnow(),
            "engine_up": up,
            "engine_not_answering": not up and not_answering,
            "engine_checked_at": observed_at,
            "engine_error": None if up else (error or "unavailable")[:500],
        }
        self.heartbeat(values)

    def mark_failure(self, exc: EngineUnavailable) -> None:
        """Record what an engine call found: unreachable, or not answering (a hang)."""
        self.mark(False, not_answering=isinstance(exc, EngineNotAnswering), error=str(exc))

    def heartbeat(self, values: dict | None = None) -> None:
        """Write this process's row: its heartbeat, and an engine outcome when ``values``
        carries one (only over an older outcome, so writes landing out of order keep the
        latest observation)."""
        identity = leases.process_identity()
        values = values or {"seen_at": utcnow()}
        seen = {"seen_at": values["seen_at"]}
        engine = {key: value for key, value in values.items() if key != "seen_at"}
        mine = WorkerRecord.identity == identity
        try:
            with self._app.app_context(), db.engine.begin() as connection:
                if not connection.execute(update(WorkerRecord).where(mine).values(**seen)).rowcount:
                    # A probe thread and a request of this process may both find no row:
                    # the second insert does nothing, and its outcome is written below.
                    connection.execute(
                        insert_on_conflict(connection.dialect.name)(WorkerRecord)
                        .values(
                            identity=identity, mode=self.worker_mode, started_at=utcnow(), **seen
                        )
                        .on_conflict_do_nothing(index_elements=["identity"])
                    )
                if engine:
                    checked = WorkerRecord.engine_checked_at
                    older = or_(checked.is_(None), checked <= engine["engine_checked_at"])
                    connection.execute(update(WorkerRecord).where(mine, older).values(**engine))
        except Exception:
            log.exception("recording the lab worker's heartbeat failed")

    def probe(self, done: threading.Event | None = None) -> bool:
        """Ping the engine now and record the outcome (a worker's periodic check);
        ``done`` is set as soon as the outcome is known, before it is written."""
        with self._lock:
            self._probe_started = time.monotonic()
        up, not_answering, error = True, False, None
        observed_at = utcnow()
        try:
            self._runtime_of().ping()
        except EngineUnavailable as exc:
            log.warning("lab engine unavailable: %s", exc)
            up, not_answering, error = False, isinstance(exc, EngineNotAnswering), str(exc)
        except Exception as exc:
            log.exception("probing the lab engine failed")
            up, error = False, str(exc)
        with self._lock:
            self._probe_started = 0.0
            if self._last_observed_at is None or observed_at >= self._last_observed_at:
                self._last = (up, not up and not_answering, time.monotonic())
        if done is not None:
            done.set()
        self.mark(up, not_answering, error, observed_at=observed_at)
        return up

    def probe_soon(self) -> threading.Event:
        """Probe on a thread of this process (one at a time); set when recorded."""
        with self._lock:
            if self._probe is None or not self._probe.is_alive():
                self._done = threading.Event()
                self._probe = threading.Thread(
                    target=self._probe_then_set,
                    args=(self._done,),
                    name="lab-engine-probe",
                    daemon=True,
                )
                self._probe.start()
            return self._done

    def _probe_then_set(self, done: threading.Event) -> None:
        try:
            self.probe(done)
        finally:
            done.set()

    def _recent_local(self) -> tuple[bool, bool] | None:
        """This process's own outcome when it is fresher than DOWN_TTL (inline workers)."""
        with self._lock:
            if self._last is None or time.monotonic() - self._last[2] > self.DOWN_TTL:
                return None
            return self._last[0], self._last[1]

    def _probing_long(self) -> bool:
        with self._lock:
            return bool(self._probe_started) and time.monotonic() - self._probe_started > 0.5

    # -- web side --------------------------------------------------------------------------

    def _record(self):
        return freshest_record()

    @property
    def not_answering(self) -> bool:
        """The engine took the connection but did not answer: the last record says so,
        or this process's probe in flight has waited longer than a request ever does."""
        if self._probing_long():
            return True
        local = self._recent_local()
        if local is not None:
            return not local[0] and local[1]
        record = self._record()
        return bool(record and record.engine_up is False and record.engine_not_answering)

    def unavailable_message(self) -> str:
        """What to tell a trainee whose start is refused."""
        return NOT_ANSWERING_MESSAGE if self.not_answering else UNAVAILABLE_MESSAGE

    def known_down(self) -> bool:
        record = self._record()
        return bool(
            record
            and record.engine_up is False
            and utcnow() - record.engine_checked_at < DOWN_REMEMBERED
        )

    def is_up(self, wait: float = 1.0) -> bool:
        """Whether a start may be queued: a fresh record says the engine is up.

        With no fresh record, a process whose worker runs inline probes (waiting at most
        ``wait`` seconds); otherwise no worker reported lately, and the answer is no.
        """
        record = self._record()
        age = (utcnow() - record.engine_checked_at).total_seconds() if record else None
        if record is not None:
            ttl = self.UP_TTL if record.engine_up else self.DOWN_TTL
            if age < ttl or (not self.is_worker and age < RECORD_FRESH.total_seconds()):
                return bool(record.engine_up)
        if not self.is_worker:
            log.warning("no lab worker has reported lately: is `lms labs worker` running?")
            return False
        if record is None:
            # This process's first probe also connects and agrees the API version: on a
            # loaded host (a swarm) that alone can take seconds; it is no sign of a hang.
            wait = max(wait, FIRST_PROBE_WAIT)
        if not self.probe_soon().wait(wait):
            # A slow answer on a loaded host is not a dead engine: while the last outcome
            # (still fresh) said up, a start may queue; its job meets the engine and fails
            # with the engine's message if the engine is really gone.
            return bool(record and record.engine_up and age < RECORD_FRESH.total_seconds())
        local = self._recent_local()
        return bool(local and local[0])


def engine_health(app: Flask | None = None) -> EngineHealth:
    def create(app: Flask) -> EngineHealth:
        health = EngineHealth(app, lambda: lab_runtime(app))
        # A web process that runs its lab worker inline probes for itself when the record
        # is stale; with external workers it only reads their records.
        health.is_worker = app.config.get("LMS_LAB_WORKER", "inline") == "inline"
        return health

    return once_per_app(app, HEALTH_KEY, create)
