"""What the engine held at the last sweep, kept in the database for the web tier.

The web tier never asks the engine what runs (issue: web requests call the engine
only for terminal and web-access streams). The lab worker that sweeps (``lms.labs.reaper``)
lists the engine every ``LMS_REAPER_INTERVAL`` seconds and records the list here, with
each node's labs and maximum (``lms.labs.nodes``); the platform admin's labs page shows
it with the time it was taken, and a start is refused when every node is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs.nodes import NodeCapacity
from lms.labs.runtime import RunningLab


class EngineListing(db.Model):
    """One row: the labs of this platform found on the engine, and when."""

    __tablename__ = "lab_engine_listings"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    labs: Mapped[list] = mapped_column(JSON, default=list)
    nodes: Mapped[list | None] = mapped_column(JSON)  # NodeCapacity rows


@dataclass(frozen=True)
class Listing:
    taken_at: datetime
    labs: list[RunningLab]
    nodes: list[NodeCapacity]


def record(labs: list[RunningLab], nodes: list[NodeCapacity] | None = None) -> None:
    """Replace the listing with ``labs`` and ``nodes`` (found just now) and commit."""
    rows = [
        {
            "key": lab.session_key,
            "owner": lab.owner,
            "lab": lab.lab_slug,
            "containers": list(lab.container_names),
            "created_at": lab.created_at.isoformat() if lab.created_at else None,
            "nodes": list(lab.nodes),
        }
        for lab in labs
    ]
    node_rows = [node.as_row() for node in nodes or []]
    db.session.execute(delete(EngineListing))
    db.session.add(EngineListing(id=1, taken_at=utcnow(), labs=rows, nodes=node_rows))
    db.session.commit()


def latest_nodes() -> list[NodeCapacity]:
    """The nodes of the last listing alone (a start reads them: not the labs)."""
    rows = db.session.scalar(select(EngineListing.nodes).where(EngineListing.id == 1))
    return [NodeCapacity.from_row(row) for row in rows or []]


def latest() -> Listing | None:
    row = db.session.scalar(select(EngineListing).where(EngineListing.id == 1))
    if row is None:
        return None
    labs = [
        RunningLab(
            session_key=item["key"],
            owner=item.get("owner") or "",
            lab_slug=item.get("lab") or "",
            container_names=tuple(item.get("containers") or ()),
            created_at=datetime.fromisoformat(item["created_at"])
            if item.get("created_at")
            else None,
            nodes=tuple(item.get("nodes") or ()),
        )
        for item in row.labs or []
    ]
    return Listing(row.taken_at, labs, [NodeCapacity.from_row(n) for n in row.nodes or []])
