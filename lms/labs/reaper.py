"""Keeping the engine and the database in agreement: expiry, orphans, vanished labs.

- ``reap`` (every LMS_REAPER_INTERVAL seconds by a lab worker, and ``lms labs
  reap``): stops expired sessions, fails starts that never ended, takes back the
  jobs of lab workers that died (queued again, or failed), finishes or fails starts
  whose process died (their lease lapsed), removes the containers and networks of
  this platform's key prefix that no live session owns, and ends sessions whose
  containers are gone.
- ``reconcile`` (once when a lab worker starts, or in the gunicorn hook
  ``on_server_ready``; and ``lms labs reap``): the same, checking every container of
  each running lab.

Several processes may run them (lab workers on several hosts): ``run_sweep`` takes the
``reaper`` lease (a row of ``lab_leases``) first, so one sweep runs at a time; a process
that finds the lease taken skips its round.

Only session keys with this platform's prefix are touched, so test runs or a
second platform sharing the engine are left alone. The engine is always
listed before the database is read for orphans (a start inserts its row
before creating containers, so a new lab is never taken for an orphan), and
the database before the engine for vanished labs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, update

from lms.auth.models import utcnow
from lms.content import lab_library
from lms.extensions import db
from lms.labs import app_runtime, engine_listing, health, jobs, leases, nodes, services
from lms.labs.models import FAILED, LIVE_STATUSES, RUNNING, STARTING, STOPPED, LabSession
from lms.labs.runtime import EngineUnavailable, LabError
from lms.labs.services import START_LEASE

log = logging.getLogger(__name__)

_booted_in_server = False  # set by the gunicorn hook in the master, inherited by workers
SWEEP_LEASE = "reaper"
SWEEP_TTL = timedelta(minutes=5)  # a sweep that takes longer may be run again by another
RECONCILE_WAIT_SECONDS = 120  # starts of a worker wait this long at most for its reconcile
# Sweeps of the domains above labs, run at the end of each pass: they register here (the
# terminal's end_abandoned_terminals ends the shells of terminals whose process died).
SWEEPS: list[Callable[[], object]] = []


@dataclass
class ReapReport:
    expired: list[str] = field(default_factory=list)  # session keys
    timed_out: list[str] = field(default_factory=list)  # starts that failed or were cut off
    resumed: list[str] = field(default_factory=list)  # interrupted starts found complete
    retried: list[str] = field(default_factory=list)  # jobs of dead workers queued again
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
        _recover_jobs(report)
        _resolve_interrupted_starts(report)
        _end_vanished(report, full)
        _remove_orphans(report)
        # What the engine holds after the sweep, for the admin page (the web tier does
        # not ask the engine itself).
        runtime = app_runtime.lab_runtime()
        listed = runtime.list_running()
        engine_listing.record(listed, nodes.node_capacities(runtime, listed))
    except EngineUnavailable as exc:
        health.engine_health().mark_failure(exc)
        report.errors.append(str(exc))
    _maintain_pools(report)
    for sweep in SWEEPS:
        try:
            sweep()
        except Exception as exc:  # another domain's trouble never stops the reaper
            db.session.rollback()
            log.exception("sweep %s failed", sweep.__name__)
            report.errors.append(f"{sweep.__name__}: {exc}")
    return report


def _maintain_pools(report: ReapReport) -> None:
    """Top warm pools up to their targets, drain them after their schedules (lms.labs.pools)."""
    from lms.labs import pools

    try:
        pools.maintain()
    except Exception as exc:  # a pool's trouble never stops the reaper
        db.session.rollback()
        log.exception("maintaining the lab pools failed")
        report.errors.append(f"lab pools: {exc}")


def reconcile() -> ReapReport:
    """Bring engine and database into agreement after the platform (re)started."""
    return reap(full=True)


def _recover_jobs(report: ReapReport) -> None:
    """Jobs whose lab worker died: settled by their kind, queued again, or failed."""
    jobs.prune()
    for recovered in jobs.recover_abandoned():
        key = db.session.scalar(select(LabSession.key).where(LabSession.id == recovered.session_id))
        label = key or f"job {recovered.job_id} ({recovered.kind})"
        if recovered.outcome == "queued":
            report.retried.append(label)
        elif recovered.kind == "start" and recovered.outcome == "settled":
            status = db.session.scalar(
                select(LabSession.status).where(LabSession.id == recovered.session_id)
            )
            if status == RUNNING:
                report.resumed.append(label)
        elif recovered.outcome == "failed":
            report.timed_out.append(label)


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
    from lms.labs import pools

    report.vanished.extend(pools.forget_vanished(on_engine))  # ready pooled ones gone
    live |= pools.unclaimed_keys()  # warm pools' sessions belong to no trainee yet
    for key in sorted(on_engine - live):
        log.info("removing orphaned lab containers and network of session %s", key)
        _stop_quietly(key, report)
        report.orphans.append(key)


def _resolve_interrupted_starts(report: ReapReport) -> None:
    """Starts with no open job whose process died: finish or fail them.

    A start with a queued or running job belongs to the lab workers (a dead worker's
    job is taken back by ``_recover_jobs`` first). One without is a start whose process
    died before it queued the job: its lease lapsed, or its holder of this machine no
    longer runs (resolved at once, not a minute later). When every container of the
    lab runs, the start had written the flag and started them all: the session is
    marked running. Otherwise it is failed and whatever it created is removed.
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
    queued = jobs.sessions_with_open_jobs()  # a worker has them, or will
    lapsed = [
        (session_id, key, slug)
        for session_id, key, slug, lease_until, owner, created_at in starting
        if session_id not in queued
        and ((lease_until or created_at + START_LEASE) < now or leases.holder_is_gone(owner))
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
            and not _claim_unfinished(key)
        )
        if complete and services.mark_running(session_id, spec.ttl_minutes, nodes.lab_node(found)):
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


def _claim_unfinished(key: str) -> bool:
    """A claimed warm session runs before its trainee's flag is written: not complete."""
    from lms.labs import pools

    return pools.awaits_trainee_files(key)


# -- running it in the serving process ------------------------------------------------------


def log_key_prefix(app: Flask) -> None:
    """Say at start-up which engine objects are this installation's (LMS_LAB_SESSION_PREFIX)."""
    with app.app_context():
        app.logger.info(
            "lab engine objects of this installation have session keys starting with %r "
            "(LMS_LAB_SESSION_PREFIX)",
            services.key_prefix(),
        )


def run_sweep(app: Flask, full: bool = False) -> ReapReport | None:
    """Reap (``full``: reconcile) under the ``reaper`` lease, logging the outcome. None when
    another process is sweeping, or the sweep failed."""
    with app.app_context():
        try:
            if not leases.acquire(SWEEP_LEASE, SWEEP_TTL):
                log.debug("lab sweep skipped: another process holds the reaper lease")
                return None
            try:
                report = reconcile() if full else reap()
            finally:
                leases.release(SWEEP_LEASE)
        except Exception:
            app.logger.exception("lab %s failed", "reconcile" if full else "reaper pass")
            return None
        finally:
            db.session.remove()
        if report.errors:
            app.logger.warning("lab sweep: %s", "; ".join(report.errors))
        if report.changed or report.retried:
            app.logger.info(
                "lab sweep: %d expired, %d vanished, %d orphaned sessions removed, "
                "%d interrupted starts finished, %d failed, %d jobs of dead workers retried",
                len(report.expired),
                len(report.vanished),
                len(report.orphans),
                len(report.resumed),
                len(report.timed_out),
                len(report.retried),
            )
        return report


def run_reconcile(app: Flask) -> ReapReport | None:
    """Reconcile now (under the lease), logging the outcome."""
    return run_sweep(app, full=True)


def reconciled_by_server() -> bool:
    """Whether the gunicorn hook reconciled before this (forked) process served."""
    return _booted_in_server


def on_server_ready(server=None) -> None:
    """gunicorn ``when_ready`` hook: reconcile once in the master, before workers serve.
    Skipped with external lab workers (``LMS_LAB_WORKER=external``): they reconcile.

    In gunicorn.conf.py::

        def when_ready(server):
            from lms.labs.reaper import on_server_ready
            on_server_ready(server)
    """
    global _booted_in_server
    from lms import create_app

    app = create_app()
    if str(app.config.get("LMS_LAB_WORKER") or "inline").lower() == "external":
        return
    log_key_prefix(app)
    run_reconcile(app)
    with app.app_context():
        db.engine.dispose()  # no connection of the master may be shared with forked workers
    _booted_in_server = True
