"""Keeping the engine and the database in agreement: expiry, orphans, vanished labs.

- ``reap`` (every LMS_REAPER_INTERVAL seconds in the serving process, and
  ``lms labs reap``): stops expired sessions, fails starts that never ended,
  removes containers whose session is no longer live, and ends sessions
  whose containers are gone.
- ``reconcile`` (once when the serving process starts: the gunicorn hook
  ``on_server_ready``, else lazily after the first request; and ``lms labs
  reap``): the same plus every platform network and container of this
  platform's key prefix that no live session owns.

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

from flask import Flask, current_app
from sqlalchemy import select, update

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs import engine, services
from lms.labs.models import FAILED, LIVE_STATUSES, RUNNING, STARTING, STOPPED, LabSession
from lms.labs.runtime import EngineUnavailable, LabError

log = logging.getLogger(__name__)

_booted_in_server = False  # set by the gunicorn hook in the master, inherited by workers


@dataclass
class ReapReport:
    expired: list[str] = field(default_factory=list)  # session keys
    timed_out: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.expired or self.timed_out or self.vanished or self.orphans)


def reap(full: bool = False) -> ReapReport:
    """One pass; ``full`` also checks every running lab's containers and sweeps networks."""
    report = ReapReport()
    _end_expired(report)
    try:
        _end_vanished(report, full)
        _remove_orphans(report, full)
    except EngineUnavailable as exc:
        engine.engine_health().mark(False)
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
        engine.lab_runtime().stop(key)
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
    runtime = engine.lab_runtime()
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


def _remove_orphans(report: ReapReport, full: bool) -> None:
    runtime = engine.lab_runtime()
    prefix = services.key_prefix()
    on_engine = {
        lab.session_key for lab in runtime.list_running() if lab.session_key.startswith(prefix)
    }
    live = set(
        db.session.scalars(select(LabSession.key).where(LabSession.status.in_(LIVE_STATUSES)))
    )
    for key in sorted(on_engine - live):
        log.info("removing orphaned lab containers of session %s", key)
        _stop_quietly(key, report)
        report.orphans.append(key)
    if full:
        # Networks without containers are only visible to the runtime's own sweep.
        for key in runtime.remove_orphans(live, key_prefix=prefix):
            if key not in report.orphans:
                report.orphans.append(key)


# -- running it in the serving process ------------------------------------------------------


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
                "lab reconcile: %d expired, %d vanished, %d orphaned sessions removed",
                len(report.expired),
                len(report.vanished),
                len(report.orphans),
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
            services.reconcile_gate.clear()
        thread = ReaperThread(app, interval, reconcile_first)
        app.extensions["lab_reaper"] = thread
        thread.start()
        return thread


def current_reaper() -> ReaperThread | None:
    return current_app.extensions.get("lab_reaper")
