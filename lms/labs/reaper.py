"""Keeping the engine and the database in agreement: expiry, orphans, vanished labs.

- ``reap`` (every LMS_REAPER_INTERVAL seconds in the serving process, and
  ``lms labs reap``): stops expired sessions, fails starts that never ended,
  finishes or fails starts whose process died (their lease lapsed), removes
  the containers and networks of this platform's key prefix that no live
  session owns, and ends sessions whose containers are gone.
- ``reconcile`` (once when the serving process starts: the gunicorn hook
  ``on_server_ready``, else lazily after the first request; and ``lms labs
  reap``): the same, checking every container of each running lab.

Only session keys with this platform's prefix are touched, so test runs or a
second platform sharing the engine are left alone. The engine is always
listed before the database is read for orphans (a start inserts its row
before creating containers, so a new lab is never taken for an orphan), and
the database before the engine for vanished labs.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import select, update

from lms.auth.models import utcnow
from lms.content import lab_library
from lms.extensions import db
from lms.labs import app_runtime, health, leases, services
from lms.labs.models import FAILED, LIVE_STATUSES, RUNNING, STARTING, STOPPED, LabSession
from lms.labs.runtime import EngineUnavailable, LabError
from lms.labs.services import START_LEASE

log = logging.getLogger(__name__)

_booted_in_server = False  # set by the gunicorn hook in the master, inherited by workers


@dataclass
class ReapReport:
    expired: list[str] = field(default_factory=list)  # session keys
    timed_out: list[str] = field(default_factory=list)  # starts that failed or were cut off
    resumed: list[str] = field(default_factory=list)  # interrupted starts found complete
    vanished: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.expired or self.timed_out or self.resumed or self.vanished or self.orphans)


def reap(full: bool = False) -> ReapReport:
    """One pass; ``full`` also checks that every container of each running lab runs."""
    report = ReapReport()
    _end_expired(report)
    try:
        _resolve_interrupted_starts(report)
        _end_vanished(report, full)
        _remove_orphans(report)
    except EngineUnavailable as exc:
        health.engine_health().mark_failure(exc)
        report.errors.append(str(exc))
    return report


def reconcile() -> ReapReport:
    """Bring engine and database into agreement after the platform (re)started."""
    return reap(full=True)


def _end(
    session_id: int,
    status: str,
    reason: str,
    error: str | None = None,
    among: tuple[str, ...] = LIVE_STATUSES,
) -> bool:
    ended = db.session.execute(
        update(LabSession)
        .where(LabSession.id == session_id, LabSession.status.in_(among))
        .values(status=status, ended_at=utcnow(), end_reason=reason, error=error)
    ).rowcount
    db.session.commit()
    return bool(ended)


def _stop_quietly(key: str, report: ReapReport) -> None:
    try:
        app_runtime.lab_runtime().stop(key)
    except EngineUnavailable:
        raise
    except LabError as exc:
        report.errors.append(f"{key}: {exc}")


def _end_expired(report: ReapReport) -> None:
    now = utcnow()
    expired = db.session.execute(
        select(LabSession.id, LabSession.key).where(
            LabSession.status == RUNNING, LabSession.expires_at <= now
        )
    ).all()
    stale = db.session.execute(
        select(LabSession.id, LabSession.key).where(
            LabSession.status == STARTING, LabSession.created_at <= now - services.START_TIMEOUT
        )
    ).all()
    to_stop = []
    for session_id, key in expired:
        if _end(session_id, STOPPED, "expired", among=(RUNNING,)):
            report.expired.append(key)
            to_stop.append(key)
    for session_id, key in stale:
        if _end(
            session_id, FAILED, "start-timeout", services.START_FAILED_MESSAGE, among=(STARTING,)
        ):
            report.timed_out.append(key)
            to_stop.append(key)
    try:
        for key in to_stop:
            _stop_quietly(key, report)
    except EngineUnavailable as exc:
        # Rows are ended already; their containers are orphans the next pass removes.
        report.errors.append(str(exc))


def _end_vanished(report: ReapReport, full: bool) -> None:
    runtime = app_runtime.lab_runtime()
    running = db.session.execute(
        select(LabSession.id, LabSession.key).where(LabSession.status == RUNNING)
    ).all()
    if not running:
        return
    on_engine = {lab.session_key for lab in runtime.list_running()}
    for session_id, key in running:
        gone = key not in on_engine or (full and not runtime.is_running(key))
        if gone and _end(session_id, STOPPED, "vanished", among=(RUNNING,)):
            log.warning("lab session %s vanished from the engine: marked stopped", key)
            report.vanished.append(key)
            _stop_quietly(key, report)  # whatever part of it is left


def _remove_orphans(report: ReapReport) -> None:
    """Remove the containers and networks of this platform's sessions that are not live."""
    runtime = app_runtime.lab_runtime()
    on_engine = runtime.session_keys(key_prefix=services.key_prefix())
    db.session.commit()  # end any read transaction: the rows must be read after the engine
    live = set(
        db.session.scalars(select(LabSession.key).where(LabSession.status.in_(LIVE_STATUSES)))
    )
    for key in sorted(on_engine - live):
        log.info("removing orphaned lab containers and network of session %s", key)
        _stop_quietly(key, report)
        report.orphans.append(key)


def _resolve_interrupted_starts(report: ReapReport) -> None:
    """Starts whose process died: finish or fail them.

    A live process renews the lease of every start it has queued or is running
    (``workers.BackgroundWorkers``), so a lapsed lease means nobody will finish
    the start; so does a holder of this machine that no longer runs (a server
    killed mid-start and restarted: resolved at once, not a minute later). When every container of the lab runs, the start had written the
    flag and started them all: the session is marked running. Otherwise it is
    failed and whatever it created is removed.
    """
    now = utcnow()
    starting = db.session.execute(
        select(
            LabSession.id,
            LabSession.key,
            LabSession.lab_slug,
            LabSession.lease_until,
            LabSession.lease_owner,
            LabSession.created_at,
        ).where(LabSession.status == STARTING)
    ).all()
    lapsed = [
        (session_id, key, slug)
        for session_id, key, slug, lease_until, owner, created_at in starting
        if (lease_until or created_at + START_LEASE) < now or leases.holder_is_gone(owner)
    ]
    if not lapsed:
        return
    runtime = app_runtime.lab_runtime()
    on_engine = {lab.session_key: lab for lab in runtime.list_running()}
    for session_id, key, slug in lapsed:
        spec = lab_library.get_spec(slug)
        found = on_engine.get(key)
        complete = (
            spec is not None
            and found is not None
            and set(found.container_names) == set(spec.containers)
            and runtime.is_running(key)
        )
        if complete and _finish_interrupted(session_id, spec.ttl_minutes):
            log.warning(
                "lab session %s: its start was interrupted; the lab runs: marked running", key
            )
            report.resumed.append(key)
        elif not complete and _end(
            session_id,
            FAILED,
            "interrupted",
            services.START_FAILED_MESSAGE,
            among=(STARTING,),
        ):
            log.warning("lab session %s: its start was interrupted: marked failed", key)
            report.timed_out.append(key)
            _stop_quietly(key, report)


def _finish_interrupted(session_id: int, ttl_minutes: int) -> bool:
    now = utcnow()
    done = db.session.execute(
        update(LabSession)
        .where(LabSession.id == session_id, LabSession.status == STARTING)
        .values(
            status=RUNNING,
            started_at=now,
            expires_at=now + timedelta(minutes=ttl_minutes),
            lease_until=None,
        )
    ).rowcount
    db.session.commit()
    return bool(done)


# -- running it in the serving process ------------------------------------------------------


def log_key_prefix(app: Flask) -> None:
    """Say at start-up which engine objects are this installation's (LMS_LAB_SESSION_PREFIX)."""
    with app.app_context():
        app.logger.info(
            "lab engine objects of this installation have session keys starting with %r "
            "(LMS_LAB_SESSION_PREFIX)",
            services.key_prefix(),
        )


def run_reconcile(app: Flask) -> ReapReport | None:
    """Reconcile now, logging the outcome; None when the engine cannot be reached."""
    with app.app_context():
        try:
            report = reconcile()
        except Exception:
            app.logger.exception("reconciling labs with the engine failed")
            return None
        if report.errors:
            app.logger.warning("lab reconcile: %s", "; ".join(report.errors))
        if report.changed:
            app.logger.info(
                "lab reconcile: %d expired, %d vanished, %d orphaned sessions removed, "
                "%d interrupted starts finished, %d failed",
                len(report.expired),
                len(report.vanished),
                len(report.orphans),
                len(report.resumed),
                len(report.timed_out),
            )
        return report


def on_server_ready(server=None) -> None:
    """gunicorn ``when_ready`` hook: reconcile once in the master, before workers serve.

    In gunicorn.conf.py::

        def when_ready(server):
            from lms.labs.reaper import on_server_ready
            on_server_ready(server)
    """
    global _booted_in_server
    from lms import create_app

    app = create_app()
    log_key_prefix(app)
    run_reconcile(app)
    with app.app_context():
        db.engine.dispose()  # no connection of the master may be shared with forked workers
    _booted_in_server = True


class ReaperThread(threading.Thread):
    """Reaps every ``interval`` seconds; reconciles first unless the server hook did."""

    def __init__(self, app: Flask, interval: float, reconcile_first: bool):
        super().__init__(name="lab-reaper", daemon=True)
        self.app = app
        self.interval = interval
        self.reconcile_first = reconcile_first
        self.stopping = threading.Event()

    def run(self) -> None:
        if self.reconcile_first:
            try:
                run_reconcile(self.app)
            finally:
                services.reconcile_gate.set()
        if self.interval <= 0:
            return  # LMS_REAPER_INTERVAL = 0: no periodic reaping (`lms labs reap` does it)
        while not self.stopping.wait(self.interval):
            with self.app.app_context():
                try:
                    report = reap()
                except Exception:
                    self.app.logger.exception("lab reaper pass failed")
                    continue
                if report.changed:
                    self.app.logger.info("lab reaper: %s", report)


_start_lock = threading.Lock()


def start_in_background(app: Flask) -> ReaperThread | None:
    """Once per app and process: reconcile (unless the server hook did) and start the
    reaper loop. Called on the first request; skipped when testing."""
    if app.config.get("TESTING"):
        return None
    with _start_lock:
        existing = app.extensions.get("lab_reaper")
        if existing is not None:
            return existing
        interval = float(app.config.get("LMS_REAPER_INTERVAL") or 0)
        reconcile_first = not _booted_in_server
        if reconcile_first:
            log_key_prefix(app)
        if reconcile_first:
            services.reconcile_gate.clear()
        thread = ReaperThread(app, interval, reconcile_first)
        app.extensions["lab_reaper"] = thread
        thread.start()
        return thread


def current_reaper() -> ReaperThread | None:
    return current_app.extensions.get("lab_reaper")
