"""Lab sessions: start, stop, restart, extend, and who may see which.

A start never waits on the container engine: the request inserts a session
in status ``starting``, queues a ``start`` job (``lms.labs.jobs``) and returns; a lab
worker starts the containers and sets ``running`` or ``failed``. Stops are marked at
once and a ``stop`` job removes the containers. Views, the API, the CLI and the reaper
all go through these functions.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from lms.auth.models import User, utcnow
from lms.auth.visibility import can_view_trainee
from lms.catalog.models import Module
from lms.content.lab_library import get_spec
from lms.content.lab_model import LabSpec
from lms.extensions import db
from lms.labs import app_runtime, engine_listing, jobs, leases, nodes
from lms.labs.errors import (
    IMAGE_MISSING_MESSAGE,
    PLATFORM_FULL_MESSAGE,
    START_FAILED_MESSAGE,
    UNAVAILABLE_MESSAGE,
    CapacityReached,
    ExtendLimit,
    LabUnknown,
    NotRunning,
    ServiceUnavailable,
    refuse_team_lab,
)
from lms.labs.flags import flag_secrets
from lms.labs.health import engine_health
from lms.labs.models import FAILED, LIVE_STATUSES, RUNNING, STARTING, STOPPED, LabSession
from lms.labs.runtime import EngineUnavailable, ImageMissing, LabError, NodesFull
from lms.xapi import events as xapi

log = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "lab-"
START_TIMEOUT = timedelta(minutes=10)  # a start still "starting" after this has failed
# A start's own lease: the row of a start with no open job (its process died before it
# queued one) is resolved by the reaper once this lapses. Once queued, the job's lease
# (lms.labs.jobs) tells whether a live worker holds it.
START_LEASE = timedelta(seconds=60)
# Kept for callers of the thread pool of before the job queue (lms.labs.pools): the lab
# worker itself waits for its start-up reconcile before it claims any job.
LEASE_RENEW_SECONDS = jobs.LEASE_RENEW_SECONDS
RECONCILE_WAIT_SECONDS = 120
reconcile_gate = threading.Event()
reconcile_gate.set()


def mark_running(session_id: int, ttl_minutes: int, node: str | None = None) -> bool:
    """A start is done: the session runs for ``ttl_minutes`` from now, on ``node``
    (``lms.labs.nodes``; None: the one it has). False when it was stopped meanwhile (its
    containers must then be removed)."""
    now = utcnow()
    values = {"node": node} if node else {}
    marked = db.session.execute(
        update(LabSession)
        .where(LabSession.id == session_id, LabSession.status == STARTING)
        .values(
            status=RUNNING,
            started_at=now,
            expires_at=_expiry(session_id, now + timedelta(minutes=ttl_minutes)),
            lease_until=None,
            **values,
        )
    ).rowcount
    db.session.commit()
    return bool(marked)


def renew_start_leases(session_ids: set[int]) -> None:
    """Kept for ``workers.background().submit_start`` callers: job leases replace it."""


# Domains above labs whose sessions end at a time of their own (a team exercise's lab ends
# with the exercise, lms.exercises.lifecycle) register here: (session id) -> its expiry, or
# None when the rule does not speak about that session.
expiry_rules: list[Callable[[int], datetime | None]] = []


def _expiry(session_id: int, default: datetime) -> datetime:
    for rule in expiry_rules:
        expires = rule(session_id)
        if expires is not None:
            return expires
    return default


# Warm pools (lms.labs.pools) register here, so this module needs not know them: a start
# first asks each claimer for a ready session (a StartResult, or None); the places they
# hold count against LMS_MAX_LABS_TOTAL; each stop tells the listeners a place is free.
claimers: list[Callable[[User, LabSpec, int | None], StartResult | None]] = []
places_held: list[Callable[[], int]] = []
stop_listeners: list[Callable[[str], None]] = []


# -- lab specs ----------------------------------------------------------------------------


def require_spec(slug: str) -> LabSpec:
    spec = get_spec(slug)
    if spec is None:
        raise LabUnknown(f"There is no lab called “{slug}” on this platform.")
    return spec


# -- finding sessions ---------------------------------------------------------------------


def key_prefix() -> str:
    """The prefix of this platform's session keys: sweeps leave other keys alone.

    ``LMS_LAB_SESSION_PREFIX``, else one derived from this installation (see
    ``installation_prefix``), so two platforms on one engine never sweep each other's labs.
    """
    config = current_app.config
    if not config.get("LMS_LAB_SESSION_PREFIX"):
        config["LMS_LAB_SESSION_PREFIX"] = installation_prefix(
            current_app.instance_path, config.get("SQLALCHEMY_DATABASE_URI") or ""
        )
    return config["LMS_LAB_SESSION_PREFIX"]


def installation_prefix(instance_path: str, database_url: str) -> str:
    """``lab-`` and a short hash of the instance folder and the database: stable across
    restarts of one installation, different for two installations on one machine."""
    identity = f"{Path(instance_path).resolve()}\n{database_url}".encode()
    return f"{DEFAULT_KEY_PREFIX}{hashlib.sha256(identity).hexdigest()[:8]}-"


def new_session_key() -> str:
    return f"{key_prefix()}{secrets.token_hex(8)}"


def live_session(user_id: int, lab_slug: str) -> LabSession | None:
    return db.session.scalar(
        select(LabSession).where(
            LabSession.user_id == user_id,
            LabSession.lab_slug == lab_slug,
            LabSession.status.in_(LIVE_STATUSES),
        )
    )


def latest_session(user_id: int, lab_slug: str) -> LabSession | None:
    """The live session of this lab, else the last one (to show how it ended)."""
    return live_session(user_id, lab_slug) or db.session.scalar(
        select(LabSession)
        .where(LabSession.user_id == user_id, LabSession.lab_slug == lab_slug)
        .order_by(LabSession.id.desc())
        .limit(1)
    )


def live_sessions(user_id: int | None = None) -> list[LabSession]:
    query = select(LabSession).where(LabSession.status.in_(LIVE_STATUSES))
    if user_id is not None:
        query = query.where(LabSession.user_id == user_id)
    return list(db.session.scalars(query.order_by(LabSession.id)))


def staff_may_view(viewer: User, owner_id: int) -> bool:
    """Whether a staff member may look at a trainee's lab sessions (the one rule of
    ``lms.auth.visibility``)."""
    return viewer.is_staff and can_view_trainee(viewer, owner_id)


def get_session_for(user: User, session_id: int, allow_staff: bool = False) -> LabSession | None:
    """The session if it is ``user``'s own (or, with ``allow_staff``, one staff may watch).

    Callers answer 404 on None, so nobody learns that someone else's session exists.
    """
    session = db.session.get(LabSession, session_id)
    if session is None or not user.is_authenticated:
        return None
    if session.user_id == user.id:
        return session
    if allow_staff and staff_may_view(user, session.user_id):
        return session
    return None


# -- start ---------------------------------------------------------------------------------


@dataclass
class StartResult:
    session: LabSession
    created: bool  # False: the live session that already existed


def start_lab(
    user: User, lab_slug: str, module_id: int | None = None, *, for_team: bool = False
) -> StartResult:
    """Start ``lab_slug`` for ``user``, or return their live session of it. A team lab
    starts only ``for_team`` (by its exercise, for the team's anchor).

    Raises LabUnknown, TeamLabOnly, CapacityReached or ServiceUnavailable; never waits on
    a start.
    """
    spec = require_spec(lab_slug)
    if not for_team:
        refuse_team_lab(spec)
    existing = live_session(user.id, lab_slug)
    if existing is not None:
        return StartResult(existing, created=False)
    engine = engine_health()
    if not engine.is_up():
        raise ServiceUnavailable(engine.unavailable_message())
    for claim in claimers:  # a warm pool's ready session, when there is one
        claimed = claim(user, spec, _module_of(module_id, lab_slug))
        if claimed is not None:
            return claimed
    _check_capacity(user.id, lab_slug)

    now = utcnow()
    session = LabSession(
        key=new_session_key(),
        user_id=user.id,
        lab_slug=lab_slug,
        module_id=_module_of(module_id, lab_slug),
        status=STARTING,
        created_at=now,
        expires_at=now + timedelta(minutes=spec.ttl_minutes),
        lease_until=now + START_LEASE,
        lease_owner=leases.process_identity(),
    )
    db.session.add(session)
    try:
        db.session.commit()
    except IntegrityError:
        # A second click inserted first: the partial unique index let one through.
        db.session.rollback()
        existing = live_session(user.id, lab_slug)
        if existing is None:
            raise
        return StartResult(existing, created=False)
    try:
        _check_capacity(user.id, lab_slug, inserted=session)
    except CapacityReached as exc:
        # Kept as failed (not deleted): a second click may already have been given it.
        session.status, session.error, session.end_reason = FAILED, exc.message, "capacity"
        session.ended_at = utcnow()
        db.session.commit()
        raise
    xapi.lab_launched(user, lab_slug, session.module_id)
    jobs.enqueue("start", session.id)  # commits the statement with the job
    return StartResult(session, created=True)


def _module_of(module_id: int | None, lab_slug: str) -> int | None:
    if module_id is None:
        return None
    module = db.session.get(Module, module_id)
    return module.id if module is not None and module.lab_slug == lab_slug else None


def _check_capacity(
    user_id: int, lab_slug: str, inserted: LabSession | None = None, platform_wide: bool = True
) -> None:
    """Refuse a start above the per-trainee or platform limit.

    Checked before inserting (the usual case) and again after, counting only
    sessions inserted earlier, so two simultaneous starts cannot both slip in.
    A live session of the same lab is not counted: a second click must get that
    session back (through the unique index), not a refusal. Warm pools' unclaimed
    sessions count against the platform's total; ``platform_wide=False`` (claiming one
    of them, which adds nothing to the total) checks the trainee's own limit only.
    """
    per_user = int(current_app.config["LMS_MAX_LABS_PER_USER"])
    earlier = LabSession.status.in_(LIVE_STATUSES)
    if inserted is not None:
        earlier = earlier & (LabSession.id < inserted.id)
    mine = list(
        db.session.scalars(
            select(LabSession)
            .where(earlier, LabSession.user_id == user_id, LabSession.lab_slug != lab_slug)
            .order_by(LabSession.id)
        )
    )
    if len(mine) >= per_user:
        other = get_spec(mine[0].lab_slug)
        title = other.title if other else mine[0].lab_slug
        plural = "lab" if per_user == 1 else "labs"
        raise CapacityReached(
            f"You already have a lab running: “{title}”. Stop it before starting another "
            f"(you may run {per_user} {plural} at a time).",
            running_session=mine[0].id,
            running_lab=mine[0].lab_slug,
        )
    if not platform_wide:
        return
    same = (LabSession.user_id == user_id) & (LabSession.lab_slug == lab_slug)
    running = db.session.scalar(select(func.count()).select_from(LabSession).where(earlier, ~same))
    if running + sum(count() for count in places_held) >= lab_places():
        raise CapacityReached(PLATFORM_FULL_MESSAGE)


def lab_places() -> int:
    """How many labs the platform may run: ``LMS_MAX_LABS_TOTAL``, or fewer when every lab
    node has a maximum (as the last sweep found them) and they add up to less."""
    total = int(current_app.config["LMS_MAX_LABS_TOTAL"])
    on_nodes = nodes.places_on_nodes(engine_listing.latest_nodes())
    return total if on_nodes is None else min(total, on_nodes)


def lab_is_complete(runtime, key: str, spec: LabSpec, on_engine: dict | None = None) -> bool:
    """Every container of the lab exists and runs (``on_engine``: ``list_running`` by key,
    when the caller has it)."""
    if on_engine is None:
        on_engine = {lab.session_key: lab for lab in runtime.list_running()}
    found = on_engine.get(key)
    return (
        found is not None
        and set(found.container_names) == set(spec.containers)
        and runtime.is_running(key)
    )


@jobs.handler("start", max_attempts=2, abandoned=lambda job, final: _start_abandoned(job, final))
def _run_start_job(job: jobs.LabJob) -> None:
    _start_in_background(job.session_id, again=job.attempts > 1)


def _start_in_background(session_id: int, again: bool = False) -> None:
    """Runs on a lab worker: start the containers, then mark running or failed.

    ``again``: a previous worker died during this start; what it left is removed first.
    """
    session = db.session.get(LabSession, session_id)
    if session is None or session.status != STARTING:
        return  # stopped (or restarted) before a worker got to it
    spec = get_spec(session.lab_slug)
    if spec is None:
        _mark_failed(session, "This lab is no longer available on the platform.")
        return
    runtime = app_runtime.lab_runtime()
    key, started = session.key, time.monotonic()
    try:
        if again:
            runtime.stop(key)
        handle = runtime.start(key, spec, str(session.user_id), flag_secrets(spec, session.user_id))
    except ImageMissing as exc:
        current_app.logger.error(
            "lab %s cannot start: image %s is missing; run `lms labs build %s`",
            spec.slug,
            exc.image,
            spec.slug,
        )
        _mark_failed(session, IMAGE_MISSING_MESSAGE)
        return
    except EngineUnavailable as exc:
        log.warning("lab %s (session %s) cannot start: %s", spec.slug, key, exc)
        engine_health().mark_failure(exc)
        _mark_failed(session, UNAVAILABLE_MESSAGE)
        return
    except NodesFull as exc:
        # Every lab node is at its maximum: the platform is full, not broken.
        log.info("lab %s (session %s) refused: %s", spec.slug, key, exc)
        engine_health().mark(True)
        _mark_failed(session, PLATFORM_FULL_MESSAGE, reason="capacity")
        return
    except LabError as exc:
        log.warning("lab %s (session %s) failed to start: %s", spec.slug, key, exc)
        _mark_failed(session, START_FAILED_MESSAGE)
        return
    except Exception:
        current_app.logger.exception("lab %s (session %s) failed to start", spec.slug, key)
        _mark_failed(session, START_FAILED_MESSAGE)
        with _quietly():
            runtime.stop(key)
        return
    engine_health().mark(True)
    if not mark_running(session_id, spec.ttl_minutes, nodes.handle_node(handle)):
        # stopped while it was starting: nothing may stay behind
        with _quietly():
            runtime.stop(key)
    log.info("lab %s (session %s) started in %.2f s", spec.slug, key, time.monotonic() - started)


def _start_abandoned(job: jobs.LabJob, final: bool) -> bool:
    """A start whose worker died: True (settled) when the lab is complete (marked running)
    or no longer wanted; ``final``: no retry follows, so the trainee is told it failed."""
    session = db.session.get(LabSession, job.session_id) if job.session_id else None
    if session is None or session.status != STARTING:
        return True
    spec = get_spec(session.lab_slug)
    runtime = app_runtime.lab_runtime()
    on_engine = {lab.session_key: lab for lab in runtime.list_running()} if spec else {}
    if spec is not None and lab_is_complete(runtime, session.key, spec, on_engine):
        now = utcnow()
        session.status, session.started_at, session.lease_until = RUNNING, now, None
        session.expires_at = _expiry(session.id, now + timedelta(minutes=spec.ttl_minutes))
        session.node = nodes.lab_node(on_engine.get(session.key))
        db.session.commit()
        log.warning("lab session %s: its worker died after starting it: running", session.key)
        return True
    if final:
        db.session.execute(
            update(LabSession)
            .where(LabSession.id == session.id, LabSession.status == STARTING)
            .values(
                status=FAILED,
                error=START_FAILED_MESSAGE,
                ended_at=utcnow(),
                end_reason="interrupted",
            )
        )
        db.session.commit()
        jobs.enqueue("stop", session.id, payload={"key": session.key})
    return False


def _mark_failed(session: LabSession, message: str, reason: str = "failed") -> None:
    db.session.execute(
        update(LabSession)
        .where(LabSession.id == session.id, LabSession.status == STARTING)
        .values(status=FAILED, error=message, ended_at=utcnow(), end_reason=reason)
    )
    db.session.commit()


class _quietly:
    """Log and swallow engine errors of a clean-up (the reaper retries later)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if exc is not None and isinstance(exc, LabError):
            log.warning("lab clean-up failed (the reaper retries): %s", exc)
            return True
        return False


# -- stop, restart, extend -----------------------------------------------------------------


def stop_lab(session: LabSession, reason: str = "stopped") -> LabSession:
    """Mark the session stopped now; its containers are removed in the background."""
    ended = db.session.execute(
        update(LabSession)
        .where(LabSession.id == session.id, LabSession.status.in_(LIVE_STATUSES))
        .values(status=STOPPED, ended_at=utcnow(), end_reason=reason)
    ).rowcount
    db.session.commit()
    db.session.refresh(session)
    if ended:
        jobs.enqueue("stop", session.id, payload={"key": session.key})
        for listener in stop_listeners:  # a place is free: a pool held back may fill
            listener(session.lab_slug)
    return session


@jobs.handler("stop", max_attempts=3)
def _run_stop_job(job: jobs.LabJob) -> None:
    _remove_in_background(job.payload["key"])


def _remove_in_background(key: str) -> None:
    with _quietly():
        app_runtime.lab_runtime().stop(key)


def restart_lab(user: User, session: LabSession) -> StartResult:
    """Stop the session and start the same lab afresh (new containers, same flag)."""
    module_id = session.module_id
    refuse_team_lab(get_spec(session.lab_slug))
    stop_lab(session, reason="restarted")
    return start_lab(user, session.lab_slug, module_id)


def extend_limit(session: LabSession, spec: LabSpec) -> datetime:
    """The latest a session may run until: ``max_minutes`` after it started."""
    began = session.started_at or session.created_at
    return began + timedelta(minutes=spec.max_minutes)


def can_extend(session: LabSession, spec: LabSpec | None) -> bool:
    return (
        spec is not None
        and session.status == RUNNING
        and extend_limit(session, spec) - session.expires_at > timedelta(seconds=60)
    )


def extend_lab(session: LabSession) -> LabSession:
    """Add the lab's ``ttl_minutes`` to the time left, up to ``max_minutes`` from its start."""
    spec = require_spec(session.lab_slug)
    refuse_team_lab(spec)  # its exercise's end decides
    if session.status != RUNNING:
        raise NotRunning("Only a running lab can be extended.")
    limit = extend_limit(session, spec)
    if not can_extend(session, spec):
        hours = spec.max_minutes / 60
        raise ExtendLimit(
            f"This lab already runs until its maximum of {hours:g} h after its "
            "start. Save your work: it stops when the time is up."
        )
    base = max(session.expires_at, utcnow())
    session.expires_at = min(base + timedelta(minutes=spec.ttl_minutes), limit)
    db.session.commit()
    return session
