"""What is shown of lab sessions: one session as the API and the panel see it, and the
platform admin's overview (sessions, what runs on the engine, the limits).

Read only: the changes are in ``lms.labs.services``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from lms.content.lab_library import get_spec
from lms.extensions import db
from lms.labs import app_runtime, engine_listing
from lms.labs.errors import UNAVAILABLE_MESSAGE
from lms.labs.health import engine_health
from lms.labs.models import FAILED, LabSession
from lms.labs.nodes import NodeCapacity, lab_node, node_capacities
from lms.labs.pools import unclaimed_keys
from lms.labs.runtime import EngineUnavailable, RunningLab
from lms.labs.services import can_extend, extend_limit, key_prefix, lab_places, live_sessions

# -- views of sessions ----------------------------------------------------------------------


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") + "Z" if moment else None


def session_summary(session: LabSession) -> dict:
    """What the API says about a session, tasks aside."""
    spec = get_spec(session.lab_slug)
    return {
        "id": session.id,
        "lab": session.lab_slug,
        "status": session.status,
        "error": session.error if session.status == FAILED else None,
        "end_reason": session.end_reason,
        "created_at": iso(session.created_at),
        "started_at": iso(session.started_at),
        "expires_at": iso(session.expires_at) if session.is_live else None,
        "seconds_left": session.seconds_left(),
        "can_extend": can_extend(session, spec),
        "max_until": iso(extend_limit(session, spec)) if spec and session.is_live else None,
        "workstation": spec.workstation if spec else None,
    }


# -- the platform admin's view ----------------------------------------------------------------


@dataclass
class PlatformLabs:
    """Live sessions from the database, and what the engine holds (None: unreachable,
    or not listed yet), as listed at ``listed_at`` (None: just now)."""

    sessions: list[LabSession]
    on_engine: list[RunningLab] | None
    orphans: list[RunningLab]
    engine_error: str | None
    engine_not_answering: bool = False  # it takes connections but does not reply
    listed_at: datetime | None = None
    nodes: list[NodeCapacity] = field(default_factory=list)  # each node's labs, max

    @property
    def running_keys(self) -> set[str]:
        return {lab.session_key for lab in self.on_engine or []}

    def node_of(self, session: LabSession) -> str | None:
        """Where the session runs: as its start recorded, else as the engine was listed
        (None: not known yet, a start in progress)."""
        if session.node:
            return session.node
        found = [lab for lab in self.on_engine or [] if lab.session_key == session.key]
        return lab_node(found[0]) if found else None


def platform_labs(ask_engine: bool = False) -> PlatformLabs:
    """For the admin page: what the lab workers last listed (``lms.labs.engine_listing``),
    so the request never waits on the engine. ``ask_engine`` (``lms labs ls``, not a web
    request) lists the engine now instead."""
    sessions = live_sessions()
    health = engine_health()
    if not health.is_up():
        return _engine_trouble(sessions, health)
    listed_at = None
    if ask_engine:
        try:
            runtime = app_runtime.lab_runtime()
            on_engine = runtime.list_running()  # the quick client
            on_nodes = node_capacities(runtime, on_engine)
        except EngineUnavailable as exc:
            health.mark_failure(exc)
            return _engine_trouble(sessions, health, str(exc))
    else:
        listing = engine_listing.latest()
        if listing is None:
            return PlatformLabs(sessions, None, [], None)
        on_engine, listed_at, on_nodes = listing.labs, listing.taken_at, listing.nodes
    live = {s.key for s in live_sessions()}  # read again: starts may have finished meanwhile
    live |= unclaimed_keys()  # warm pools' sessions (lms.labs.pools): no trainee yet
    prefix = key_prefix()
    orphans = [
        lab
        for lab in on_engine
        if lab.session_key.startswith(prefix) and lab.session_key not in live
    ]
    if listed_at is not None:
        # A session that ended after the listing is not an orphan: the sweep removes it.
        ended_since = set(
            db.session.scalars(select(LabSession.key).where(LabSession.ended_at >= listed_at))
        )
        orphans = [lab for lab in orphans if lab.session_key not in ended_since]
    return PlatformLabs(sessions, on_engine, orphans, None, listed_at=listed_at, nodes=on_nodes)


def _engine_trouble(sessions, health, detail: str = "") -> PlatformLabs:
    if health.not_answering:
        message = (
            "The engine is not answering: it takes connections but does not reply, so "
            "labs cannot start (trainees are told so). Check the Docker daemon."
        )
    else:
        message = UNAVAILABLE_MESSAGE
    detail = f" ({detail})" if detail else ""
    return PlatformLabs(sessions, None, [], message + detail, health.not_answering)


def limits() -> dict[str, object]:
    config = current_app.config
    return {
        "per_user": int(config["LMS_MAX_LABS_PER_USER"]),
        "total": lab_places(),  # LMS_MAX_LABS_TOTAL, or what the lab nodes hold when less
        "memory": config["LMS_LAB_MAX_MEMORY"],
        "cpus": config["LMS_LAB_MAX_CPUS"],
        "pids": config["LMS_LAB_MAX_PIDS"],
        "start_workers": config["LMS_START_LAB_WORKERS"],
        "reaper_interval": config["LMS_REAPER_INTERVAL"],
    }
