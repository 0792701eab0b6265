"""Warm lab pools: sessions started before the class arrives, claimed at a click.

A lab keeps ``pool:`` (lab.yaml) sessions started and unassigned, plus what the active
schedules of cohorts add ("lab Y, N ready from T1 to T2"). A trainee's start claims one
(``claim_for``, called at the top of ``services.start_lab``) in ONE database transaction:
the ready pooled row is locked (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: the
conditional UPDATE, which SQLite runs one writer at a time), marked claimed, and the
trainee's ``LabSession`` inserted with the pooled session's key, status ``starting``. A
lab-worker job (``finish_claim``) then writes the trainee's flag into the running
container, owned by the container's user, and only then marks the session running. A
pooled session is never given to two trainees (the conditional UPDATE) and never returned
to the pool: the trainee's stop removes its containers like any other session's.

``maintain`` (run by the reaper on each pass, after each claim, and by ``lms labs pool``)
tops each pool up to its target, drains what is above it (unclaimed sessions only), fails
fills whose process died, and backs off a pool whose fills fail (image missing, engine
down): one probe fill per back-off period, never a loop. Engine work runs as lab-worker
jobs: ``fill``, ``finish_claim``, ``remove`` and ``maintain`` are plain functions of ids.

Pooled sessions count against ``LMS_MAX_LABS_TOTAL``; their engine objects carry the
platform's session-key prefix and the owner label ``pool`` (labels cannot change on a
running container: who has a claimed one is in the database).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from lms.auth.models import User, utcnow
from lms.content import lab_library
from lms.content.lab_model import LabSpec
from lms.extensions import db
from lms.labs import app_runtime, jobs, leases, nodes, services
from lms.labs.errors import START_FAILED_MESSAGE, CapacityReached
from lms.labs.flags import flag_secrets
from lms.labs.health import engine_health
from lms.labs.models import FAILED as SESSION_FAILED
from lms.labs.models import LIVE_STATUSES, STARTING, LabSession
from lms.labs.pool_models import (
    CLAIMED,
    FAILED,
    FILLING,
    READY,
    REMOVED,
    UNCLAIMED,
    PoolSchedule,
    PoolSession,
    PoolState,
)
from lms.labs.runtime import EngineUnavailable, ImageMissing, LabError, NodesFull, SecretFile
from lms.xapi import events as xapi

log = logging.getLogger(__name__)

POOL_OWNER = "pool"  # the owner label of pooled containers (the database says who has one)
FILL_TIMEOUT = timedelta(minutes=10)  # a fill still "filling" after this has failed
BACKOFF_FIRST = timedelta(seconds=15)
BACKOFF_MAX = timedelta(minutes=10)
KEEP_HISTORY = timedelta(days=1)  # failed and removed rows are kept this long
CLAIMED_HISTORY = timedelta(days=7)  # and claimed ones this much longer (max_minutes' top)
VANISH_GRACE = timedelta(seconds=30)
CLAIM_ATTEMPTS = 5  # a claim that lost a race tries the next ready session


# -- what each pool should hold ---------------------------------------------------------------


def all_specs() -> dict[str, LabSpec]:
    specs = (lab_library.get_spec(slug) for slug in sorted(lab_library.lab_slugs()))
    return {spec.slug: spec for spec in specs if spec is not None}


def active_schedules(now: datetime | None = None) -> list[PoolSchedule]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(PoolSchedule)
            .where(PoolSchedule.starts_at <= now, PoolSchedule.ends_at > now)
            .order_by(PoolSchedule.id)
        )
    )


def targets(now: datetime | None = None) -> dict[str, int]:
    """Per lab: lab.yaml ``pool`` plus the sizes of the schedules active now."""
    specs = all_specs()
    wanted = {slug: spec.pool for slug, spec in specs.items() if spec.pool}
    for schedule in active_schedules(now):
        if schedule.lab_slug in specs:
            wanted[schedule.lab_slug] = wanted.get(schedule.lab_slug, 0) + schedule.size
    return wanted


def unclaimed_count(lab_slug: str | None = None) -> int:
    query = select(func.count()).select_from(PoolSession).where(PoolSession.status.in_(UNCLAIMED))
    if lab_slug is not None:
        query = query.where(PoolSession.lab_slug == lab_slug)
    return db.session.scalar(query) or 0


def unclaimed_keys() -> set[str]:
    """Session keys of pooled sessions on the engine (or being started): not orphans."""
    return set(db.session.scalars(select(PoolSession.key).where(PoolSession.status.in_(UNCLAIMED))))


def capacity_left() -> int:
    """Places of the platform (``services.lab_places``) neither a live session nor a
    pooled one holds."""
    total = services.lab_places()
    live = db.session.scalar(
        select(func.count()).select_from(LabSession).where(LabSession.status.in_(LIVE_STATUSES))
    )
    return max(0, total - (live or 0) - unclaimed_count())


# -- claiming ---------------------------------------------------------------------------------


def claim_for(user: User, spec: LabSpec, module_id: int | None) -> services.StartResult | None:
    """Give ``user`` a ready pooled session of ``spec``: their session (``starting`` until
    their flag is written), or None when the pool has none ready. Raises CapacityReached
    when the trainee runs other labs up to their limit."""
    if not _has_ready(spec):
        return None
    # Only the trainee's own limit: taking a pooled place leaves the platform's total as is.
    services._check_capacity(user.id, spec.slug, platform_wide=False)
    for _ in range(CLAIM_ATTEMPTS):
        try:
            session = _claim_once(user, spec, module_id)
        except IntegrityError:
            # A second click of the same trainee claimed first: they get that session.
            db.session.rollback()
            existing = services.live_session(user.id, spec.slug)
            if existing is None:
                raise
            return services.StartResult(existing, created=False)
        if session is None:
            return None
        if session is not False:
            break
    else:
        return None  # lost every race: a cold start instead
    try:
        services._check_capacity(user.id, spec.slug, inserted=session, platform_wide=False)
    except CapacityReached as exc:
        session.status, session.error, session.end_reason = SESSION_FAILED, exc.message, "capacity"
        session.ended_at = utcnow()
        db.session.commit()
        remove_later(session.key)  # claimed: never back to the pool
        raise
    xapi.lab_launched(user, spec.slug, session.module_id)
    jobs.enqueue(CLAIM_JOB, session.id, commit=False)
    request_refill(spec.slug, commit=False)
    db.session.commit()  # one commit for both jobs: a class's burst of claims stays cheap
    jobs.wake_workers()
    return services.StartResult(session, created=True)


def _has_ready(spec: LabSpec) -> bool:
    return (
        db.session.scalar(
            select(PoolSession.id)
            .where(
                PoolSession.lab_slug == spec.slug,
                PoolSession.status == READY,
                PoolSession.content_hash == spec.content_hash,
            )
            .limit(1)
        )
        is not None
    )


def _claim_once(user: User, spec: LabSpec, module_id: int | None) -> LabSession | None | bool:
    """One transaction: lock a ready pooled session, insert the trainee's session with its
    key, mark the pooled one claimed. None: none ready; False: lost a race, try again."""
    candidate = db.session.execute(
        select(PoolSession.id, PoolSession.key, PoolSession.node)
        .where(
            PoolSession.lab_slug == spec.slug,
            PoolSession.status == READY,
            PoolSession.content_hash == spec.content_hash,  # not one of an older version
        )
        .order_by(PoolSession.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite: the conditional UPDATE below
    ).first()
    if candidate is None:
        db.session.rollback()
        return None
    now = utcnow()
    won = db.session.execute(
        update(PoolSession)
        .where(PoolSession.id == candidate.id, PoolSession.status == READY)
        .values(status=CLAIMED, claimed_at=now)
    ).rowcount
    if not won:  # SQLite: another claim updated it first (PostgreSQL skipped it instead)
        db.session.rollback()
        return False
    session = LabSession(
        key=candidate.key,
        node=candidate.node,  # where the pooled containers run
        user_id=user.id,
        lab_slug=spec.slug,
        module_id=module_id,
        status=STARTING,
        created_at=now,
        expires_at=now + timedelta(minutes=spec.ttl_minutes),
        lease_until=now + services.START_LEASE,
        lease_owner=leases.process_identity(),
    )
    db.session.add(session)
    db.session.flush()  # the unique index of live sessions answers here (rolls the claim back)
    db.session.execute(
        update(PoolSession).where(PoolSession.id == candidate.id).values(session_id=session.id)
    )
    db.session.commit()
    return session


def trainee_secrets(spec: LabSpec, user_id: int) -> list[SecretFile]:
    """What a cold start writes before its containers start, for a claimed one after."""
    return flag_secrets(spec, user_id)


def finish_claim(session_id: int) -> None:
    """Lab-worker job: write the trainee's files into the claimed containers, then mark the
    session running. Until then the trainee sees ``starting`` and cannot reach the lab."""
    session = db.session.get(LabSession, session_id)
    if session is None or session.status != STARTING:
        return  # stopped meanwhile: its stop removes the containers
    spec = lab_library.get_spec(session.lab_slug)
    runtime = app_runtime.lab_runtime()
    key = session.key
    try:
        if spec is None:
            raise LabError(f"lab {session.lab_slug} is no longer on the platform")
        runtime.write_files(key, trainee_secrets(spec, session.user_id))
    except LabError as exc:
        log.warning("claimed lab session %s: writing the trainee's files failed: %s", key, exc)
        if isinstance(exc, EngineUnavailable):
            engine_health().mark_failure(exc)
        _fail_claimed(session_id)
        _stop_quietly(key)
        request_refill(session.lab_slug)
        return
    if not services.mark_running(session_id, spec.ttl_minutes):
        # stopped while its files were written: nothing may stay behind
        _stop_quietly(key)


def _fail_claimed(session_id: int) -> None:
    db.session.execute(
        update(LabSession)
        .where(LabSession.id == session_id, LabSession.status == STARTING)
        .values(
            status=SESSION_FAILED,
            error=START_FAILED_MESSAGE,
            ended_at=utcnow(),
            end_reason="failed",
        )
    )
    db.session.commit()


def awaits_trainee_files(session_key: str) -> bool:
    """True for a claimed session whose trainee's files may not be written yet: the
    reaper must not mark it running just because its containers run."""
    return (
        db.session.scalar(
            select(PoolSession.id)
            .join(LabSession, LabSession.id == PoolSession.session_id)
            .where(PoolSession.key == session_key, LabSession.status == STARTING)
        )
        is not None
    )


# -- filling, draining, backing off -----------------------------------------------------------


@dataclass
class MaintainReport:
    filling: dict[str, int]  # lab -> fills queued by this pass
    drained: list[str]  # session keys removed (above target)
    failed: list[str]  # fills found dead or timed out
    backing_off: dict[str, str]  # lab -> its error, while no fill is tried

    @property
    def changed(self) -> bool:
        return bool(self.filling or self.drained or self.failed)


def maintain(lab_slug: str | None = None) -> MaintainReport:
    """One pass over every pool (or ``lab_slug``'s): top up, drain, fail dead fills."""
    report = MaintainReport({}, [], [], {})
    now = utcnow()
    _fail_dead_fills(now, report)
    wanted = targets(now)
    with_rows = set(
        db.session.scalars(
            select(PoolSession.lab_slug).where(PoolSession.status.in_(UNCLAIMED)).distinct()
        )
    )
    slugs = sorted(set(wanted) | with_rows)
    if lab_slug is not None:
        slugs = [lab_slug] if lab_slug in slugs else []
    for slug in slugs:
        _plan(slug, wanted.get(slug, 0), now, report)
    _forget_old_rows(now)
    return report


def _lock_pool(lab_slug: str, now: datetime) -> PoolState:
    """Take the pool's row lock (an UPDATE: PostgreSQL locks the row, SQLite the database)
    for the rest of the transaction, creating the row the first time."""
    locked = db.session.execute(
        update(PoolState).where(PoolState.lab_slug == lab_slug).values(planned_at=now)
    ).rowcount
    if not locked:
        db.session.add(PoolState(lab_slug=lab_slug, planned_at=now))
        try:
            db.session.flush()
        except IntegrityError:  # another process created it first
            db.session.rollback()
            return _lock_pool(lab_slug, now)
    return db.session.get(PoolState, lab_slug, populate_existing=True)


def _plan(lab_slug: str, target: int, now: datetime, report: MaintainReport) -> None:
    state = _lock_pool(lab_slug, now)
    rows = list(
        db.session.scalars(
            select(PoolSession)
            .where(PoolSession.lab_slug == lab_slug, PoolSession.status.in_(UNCLAIMED))
            .order_by(PoolSession.id)
        )
    )
    spec = lab_library.get_spec(lab_slug)
    current = spec.content_hash if spec is not None else None
    outdated = [r for r in rows if r.status == READY and r.content_hash != current]
    if outdated:  # the lab changed (or left the platform): its old sessions go
        rows = [r for r in rows if r not in outdated]
    if len(rows) > target or outdated:
        ready = [r for r in reversed(rows) if r.status == READY]
        extra = outdated + ready[: max(0, len(rows) - target)]
        for row in extra:
            row.status = REMOVED
        db.session.commit()
        for row in extra:
            report.drained.append(row.key)
            remove_later(row.key)
        if outdated:
            maintain_later(lab_slug)  # then fill with the lab as it is now
        return
    missing = target - len(rows)
    if missing <= 0:
        db.session.commit()
        return
    if state.retry_after is not None and state.retry_after > now:
        report.backing_off[lab_slug] = state.error or "backing off"
        db.session.commit()
        return
    if state.failures:
        missing = 1  # a probe: one fill until one succeeds again
    # A few fills at a time, each finished one asking for the next: the rest of the lab
    # workers stay free for trainees' claims and starts.
    filling = sum(1 for row in rows if row.status == FILLING)
    missing = min(missing, fills_at_once() - filling, capacity_left())
    new_rows = [
        PoolSession(
            key=services.new_session_key(),
            lab_slug=lab_slug,
            content_hash=current,
            status=FILLING,
            created_at=now,
        )
        for _ in range(missing)
    ]
    db.session.add_all(new_rows)
    db.session.flush()
    for row in new_rows:
        jobs.enqueue(FILL_JOB, payload={"pool_session": row.id}, commit=False)
    db.session.commit()
    if new_rows:
        jobs.wake_workers()
        report.filling[lab_slug] = len(new_rows)


def fills_at_once() -> int:
    """Fills of one pool running at once: half the lab workers' threads (at least one)."""
    return max(1, int(current_app.config["LMS_START_LAB_WORKERS"]) // 2)


def fill(pool_session_id: int) -> None:
    """Lab-worker job: start one pooled session (no trainee's files yet) and mark it ready."""
    row = db.session.get(PoolSession, pool_session_id)
    if row is None or row.status != FILLING:
        return
    key, slug = row.key, row.lab_slug
    spec = lab_library.get_spec(slug)
    if spec is None:
        _fill_failed(row, "This lab is no longer on the platform.")
        return
    runtime = app_runtime.lab_runtime()
    try:
        handle = runtime.start(key, spec, POOL_OWNER, [])
    except ImageMissing as exc:
        _fill_failed(
            row,
            f"The image of this lab is missing ({exc.image}): run `lms labs build {slug}`.",
        )
        return
    except EngineUnavailable as exc:
        engine_health().mark_failure(exc)
        _fill_failed(row, f"The container engine is unavailable: {exc}")
        return
    except NodesFull as exc:
        _fill_failed(row, f"Every lab node is full (their lms-labs-max): {exc}")
        return
    except LabError as exc:
        _fill_failed(row, f"A pooled session failed to start: {exc}")
        return
    engine_health().mark(True)
    ready = db.session.execute(
        update(PoolSession)
        .where(PoolSession.id == pool_session_id, PoolSession.status == FILLING)
        .values(status=READY, ready_at=utcnow(), node=nodes.handle_node(handle))
    ).rowcount
    state = db.session.get(PoolState, slug)
    if state is not None:
        state.error, state.failures, state.retry_after = None, 0, None
    db.session.commit()
    if not ready:  # drained or failed while it started
        _stop_quietly(key)
    else:
        maintain_later(slug)  # the next fill, if the pool needs more


def _fill_failed(row: PoolSession, message: str) -> None:
    """Mark the fill failed, remove what it left, and back the pool off (doubling)."""
    key, slug = row.key, row.lab_slug
    log.warning("lab pool %s: a fill failed: %s", slug, message)
    now = utcnow()
    state = _lock_pool(slug, now)
    db.session.execute(
        update(PoolSession)
        .where(PoolSession.id == row.id, PoolSession.status == FILLING)
        .values(status=FAILED, error=message)
    )
    state.failures = (state.failures or 0) + 1
    state.error = message
    state.retry_after = now + min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (state.failures - 1))
    db.session.commit()
    _stop_quietly(key)


def _fail_dead_fills(now: datetime, report: MaintainReport) -> None:
    """Fills that never ended are failed and removed (a fill whose worker died is settled
    by its job's ``abandoned`` hook; this catches what no job will finish)."""
    filling = db.session.execute(
        select(PoolSession.id, PoolSession.key, PoolSession.created_at).where(
            PoolSession.status == FILLING
        )
    ).all()
    for row_id, key, created_at in filling:
        if created_at > now - FILL_TIMEOUT:
            continue
        failed = db.session.execute(
            update(PoolSession)
            .where(PoolSession.id == row_id, PoolSession.status == FILLING)
            .values(status=FAILED, error="The fill was interrupted.")
        ).rowcount
        db.session.commit()
        if failed:
            report.failed.append(key)
            remove_later(key)


def _forget_old_rows(now: datetime) -> None:
    old = now - KEEP_HISTORY
    db.session.execute(
        delete(PoolSession).where(
            PoolSession.status.in_((FAILED, REMOVED)), PoolSession.created_at < old
        )
    )
    # A claimed row is the trainee's session's: kept until that session surely ended.
    db.session.execute(
        delete(PoolSession).where(
            PoolSession.status == CLAIMED, PoolSession.claimed_at < old - CLAIMED_HISTORY
        )
    )
    db.session.execute(delete(PoolSchedule).where(PoolSchedule.ends_at < old))
    db.session.commit()


def remove(session_key: str) -> None:
    """Lab-worker job: remove a pooled (or claimed) session's containers and network."""
    _stop_quietly(session_key)


def _stop_quietly(key: str) -> None:
    try:
        app_runtime.lab_runtime().stop(key)
    except LabError as exc:
        log.warning("removing lab session %s failed (the reaper retries): %s", key, exc)


def forget_vanished(on_engine: set[str]) -> list[str]:
    """Ready pooled sessions whose containers are gone from the engine: removed from the
    pool (the next pass fills again). ``on_engine``: the keys the engine holds, listed
    before this reads the database."""
    db.session.commit()
    # A fill marked ready after the engine was listed is not missing from it: only those
    # ready for a while are judged.
    settled = utcnow() - VANISH_GRACE
    ready = db.session.execute(
        select(PoolSession.id, PoolSession.key).where(
            PoolSession.status == READY, PoolSession.ready_at < settled
        )
    ).all()
    gone = []
    for row_id, key in ready:
        if key in on_engine:
            continue
        done = db.session.execute(
            update(PoolSession)
            .where(PoolSession.id == row_id, PoolSession.status == READY)
            .values(status=REMOVED, error="Its containers vanished from the engine.")
        ).rowcount
        if done:
            gone.append(key)
    db.session.commit()
    for key in gone:
        remove_later(key)
    return gone


# -- running the jobs (lms.labs.jobs) ----------------------------------------------------------

FILL_JOB, CLAIM_JOB, MAINTAIN_JOB, REMOVE_JOB = (
    "pool-fill",
    "pool-claim",
    "pool-maintain",
    "pool-remove",
)
REFILL_DEBOUNCE_LIMIT = timedelta(seconds=30)  # claims postpone a refill this long at most


def _fill_abandoned(job: jobs.LabJob, final: bool) -> bool:
    """The worker died during a fill: fail it and remove what it started (settled)."""
    row = db.session.get(PoolSession, job.payload.get("pool_session"))
    if row is not None and row.status == FILLING:
        row.status, row.error = FAILED, "Its lab worker stopped during the fill."
        db.session.commit()
        remove_later(row.key)
    return True


def _claim_abandoned(job: jobs.LabJob, final: bool) -> bool:
    """The worker died while writing a trainee's files: run again (writing is idempotent);
    after the last attempt the session fails and its containers are removed."""
    session = db.session.get(LabSession, job.session_id) if job.session_id else None
    if session is None or session.status != STARTING:
        return True
    if final:
        _fail_claimed(session.id)
        remove_later(session.key)
        return True
    return False


@jobs.handler(FILL_JOB, max_attempts=1, abandoned=_fill_abandoned)
def _run_fill(job: jobs.LabJob) -> None:
    fill(job.payload["pool_session"])


@jobs.handler(CLAIM_JOB, max_attempts=3, abandoned=_claim_abandoned)
def _run_finish_claim(job: jobs.LabJob) -> None:
    finish_claim(job.session_id)


@jobs.handler(MAINTAIN_JOB, max_attempts=1)
def _run_maintain(job: jobs.LabJob) -> None:
    maintain(job.payload.get("lab"))


@jobs.handler(REMOVE_JOB, max_attempts=3)
def _run_remove(job: jobs.LabJob) -> None:
    remove(job.payload["key"])


def remove_later(session_key: str) -> None:
    jobs.enqueue(REMOVE_JOB, payload={"key": session_key})


def maintain_later(lab_slug: str | None = None, delay: float = 0.0) -> None:
    jobs.enqueue(MAINTAIN_JOB, payload={"lab": lab_slug}, delay=delay)


def request_refill(lab_slug: str, commit: bool = True) -> None:
    """Top the pool up once its claims have calmed down: ``LMS_POOL_REFILL_DELAY`` seconds
    after the last claim (each claim postpones the queued refill, for 30 s at most), so a
    class arriving at once is not slowed by the engine starting their replacements."""
    delay = float(current_app.config.get("LMS_POOL_REFILL_DELAY", 5))
    now = utcnow()
    postponed = db.session.execute(
        update(jobs.LabJob)
        .where(
            jobs.LabJob.kind == MAINTAIN_JOB,
            jobs.LabJob.status == jobs.QUEUED,
            jobs.LabJob.payload_json == json.dumps({"lab": lab_slug}),
            jobs.LabJob.created_at > now - REFILL_DEBOUNCE_LIMIT,
        )
        .values(run_after=now + timedelta(seconds=delay))
    ).rowcount
    if not postponed:
        jobs.enqueue(MAINTAIN_JOB, payload={"lab": lab_slug}, delay=delay, commit=False)
    if commit:
        db.session.commit()
        jobs.wake_workers()


def wait_refills(timeout: float = 60.0) -> bool:
    """Run the postponed refills now and wait until no lab job is left (tests, CLI,
    benchmarks)."""
    db.session.execute(
        update(jobs.LabJob)
        .where(jobs.LabJob.kind == MAINTAIN_JOB, jobs.LabJob.status == jobs.QUEUED)
        .values(run_after=utcnow())
    )
    db.session.commit()
    jobs.wake_workers()  # starts this process's inline worker, if it runs one
    deadline = time.monotonic() + timeout
    while jobs.open_jobs():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# -- what the admin page and `lms labs pool` show ---------------------------------------------


@dataclass
class PoolOverview:
    lab_slug: str
    title: str
    target: int
    ready: int
    filling: int
    claimed: int  # claimed sessions still live
    failed: int  # fills failed in the last hour
    memory_bytes: int  # the lab's memory limit x containers x (ready + filling)
    error: str | None
    retry_after: datetime | None
    schedules: list[PoolSchedule]


def overview(now: datetime | None = None) -> list[PoolOverview]:
    now = now or utcnow()
    specs = all_specs()
    wanted = targets(now)
    counts: dict[tuple[str, str], int] = {}
    for slug, status, count in db.session.execute(
        select(PoolSession.lab_slug, PoolSession.status, func.count())
        .where(PoolSession.status.in_(UNCLAIMED))
        .group_by(PoolSession.lab_slug, PoolSession.status)
    ):
        counts[(slug, status)] = count
    for slug, count in db.session.execute(
        select(PoolSession.lab_slug, func.count())
        .join(LabSession, LabSession.id == PoolSession.session_id)
        .where(PoolSession.status == CLAIMED, LabSession.status.in_(LIVE_STATUSES))
        .group_by(PoolSession.lab_slug)
    ):
        counts[(slug, CLAIMED)] = count
    for slug, count in db.session.execute(
        select(PoolSession.lab_slug, func.count())
        .where(PoolSession.status == FAILED, PoolSession.created_at > now - timedelta(hours=1))
        .group_by(PoolSession.lab_slug)
    ):
        counts[(slug, FAILED)] = count
    states = {s.lab_slug: s for s in db.session.scalars(select(PoolState))}
    schedules: dict[str, list[PoolSchedule]] = {}
    for schedule in db.session.scalars(
        select(PoolSchedule).where(PoolSchedule.ends_at > now).order_by(PoolSchedule.starts_at)
    ):
        schedules.setdefault(schedule.lab_slug, []).append(schedule)
    slugs = sorted(set(wanted) | {slug for slug, _ in counts} | set(schedules))
    pools = []
    for slug in slugs:
        spec = specs.get(slug)
        state = states.get(slug)
        on_engine = counts.get((slug, READY), 0) + counts.get((slug, FILLING), 0)
        per_session = spec.limits.memory_bytes * len(spec.containers) if spec else 0
        pools.append(
            PoolOverview(
                lab_slug=slug,
                title=spec.title if spec else slug,
                target=wanted.get(slug, 0),
                ready=counts.get((slug, READY), 0),
                filling=counts.get((slug, FILLING), 0),
                claimed=counts.get((slug, CLAIMED), 0),
                failed=counts.get((slug, FAILED), 0),
                memory_bytes=per_session * on_engine,
                error=state.error if state else None,
                retry_after=state.retry_after if state else None,
                schedules=schedules.get(slug, []),
            )
        )
    return pools


def after_stop(lab_slug: str) -> None:
    """A session ended, so a place is free: pools held back by capacity may fill now."""
    if targets():
        maintain_later()


# -- schedules ---------------------------------------------------------------------------------

MAX_SCHEDULE = timedelta(days=14)


class ScheduleInvalid(ValueError):
    """A schedule was refused; the message says why, for the person who set it, and
    ``field`` which of its parts is wrong (lab, size, starts_at, ends_at)."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def check_schedule(lab_slug: str, size: int, starts_at: datetime, ends_at: datetime) -> None:
    """Raise ScheduleInvalid naming the first problem of a schedule (times in UTC)."""
    if lab_library.get_spec(lab_slug) is None:
        raise ScheduleInvalid(f"There is no lab called “{lab_slug}” on this platform.", "lab")
    total = int(current_app.config["LMS_MAX_LABS_TOTAL"])
    if not 1 <= size <= total:
        raise ScheduleInvalid(
            f"Ask for 1 to {total} ready labs (the platform runs at most {total} at once).",
            "size",
        )
    if ends_at <= starts_at:
        raise ScheduleInvalid("The end must be after the start.", "ends_at")
    if ends_at <= utcnow():
        raise ScheduleInvalid(
            "That time is already over: give an end in the future (UTC).", "ends_at"
        )
    if ends_at - starts_at > MAX_SCHEDULE:
        raise ScheduleInvalid(
            "A schedule may last 14 days at most; add another for later.", "ends_at"
        )


def add_schedule(
    cohort_id: int,
    lab_slug: str,
    size: int,
    starts_at: datetime,
    ends_at: datetime,
    by: User | None = None,
) -> PoolSchedule:
    """Record “N ready sessions of the lab from T1 to T2” for a cohort and fill at once when
    it is active (the reaper's pass picks it up when its time comes)."""
    check_schedule(lab_slug, size, starts_at, ends_at)
    schedule = PoolSchedule(
        cohort_id=cohort_id,
        lab_slug=lab_slug,
        size=size,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by_id=by.id if by is not None else None,
    )
    db.session.add(schedule)
    db.session.commit()
    if schedule.active(utcnow()):
        maintain_later(lab_slug)
    return schedule


def cancel_schedule(schedule: PoolSchedule) -> None:
    """Remove a schedule; its extra ready sessions drain on the next pass (now)."""
    lab_slug = schedule.lab_slug
    db.session.delete(schedule)
    db.session.commit()
    maintain_later(lab_slug)


def cohort_schedules(cohort_id: int) -> list[PoolSchedule]:
    """The cohort's schedules not over yet, soonest first."""
    return list(
        db.session.scalars(
            select(PoolSchedule)
            .where(PoolSchedule.cohort_id == cohort_id, PoolSchedule.ends_at > utcnow())
            .order_by(PoolSchedule.starts_at, PoolSchedule.id)
        )
    )


# start_lab asks claim_for first; pooled sessions hold places; stops may let pools fill.
services.claimers.append(claim_for)
services.places_held.append(unclaimed_count)
services.stop_listeners.append(after_stop)
