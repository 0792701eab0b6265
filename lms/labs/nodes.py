"""Where labs run: the node named for a session, and each node's labs and maximum.

On the ``docker`` backend every lab runs on one engine: its node is that engine's host
(from ``LMS_DOCKER_URL``), or ``local`` for the local socket. On a ``swarm`` the runtime
says which node runs each container (``LabHandle.nodes``, ``RunningLab.nodes``) and how
many labs each node runs and may run (its label ``lms-labs-max=N``). The lab workers'
sweep records the nodes with its listing (``lms.labs.engine_listing``): the web tier
never asks the engine, and a start is refused at once when every node is full.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from lms.labs.runtime import LabHandle, LabRuntime, RunningLab

LOCAL = "local"


@dataclass(frozen=True)
class NodeCapacity:
    """A node's labs (as listed by the last sweep) and its maximum (None: no limit of its
    own; the platform's LMS_MAX_LABS_TOTAL still applies)."""

    name: str
    running: int
    max_labs: int | None = None

    @property
    def full(self) -> bool:
        return self.max_labs is not None and self.running >= self.max_labs

    def as_row(self) -> dict:
        return {"name": self.name, "running": self.running, "max": self.max_labs}

    @classmethod
    def from_row(cls, row: dict) -> NodeCapacity:
        maximum = row.get("max")
        return cls(str(row.get("name") or LOCAL), int(row.get("running") or 0), maximum)


def engine_host(docker_url: str | None = None) -> str:
    """The one engine's name: the host of a remote ``LMS_DOCKER_URL``, else ``local``."""
    if docker_url is None:
        docker_url = current_app.config.get("LMS_DOCKER_URL") or ""
    parts = urlsplit(docker_url)
    if parts.scheme in ("tcp", "http", "https", "ssh") and parts.hostname:
        return parts.hostname
    return LOCAL


def node_name(nodes: Iterable[str | None]) -> str:
    """What a session's node column says: its containers' distinct nodes, or the engine's
    host when the backend names none (a single engine)."""
    names = sorted({node for node in nodes if node})
    return ", ".join(names) if names else engine_host()


def handle_node(handle: LabHandle | None) -> str:
    """The node of a lab just started."""
    return node_name(handle.nodes.values() if handle is not None else ())


def lab_node(lab: RunningLab | None) -> str:
    """The node of a lab found on the engine."""
    return node_name(lab.nodes if lab is not None else ())


def node_capacities(runtime: LabRuntime, labs: list[RunningLab]) -> list[NodeCapacity]:
    """Every node's labs and maximum, for the sweep to record: the runtime's own count
    when it keeps one per node (a swarm's ``node_usage``), else the labs found per node."""
    usage = getattr(runtime, "node_usage", None)
    if usage is not None:
        return sorted((_capacity(item) for item in usage()), key=lambda node: node.name)
    counts = Counter(name for lab in labs for name in _names(lab))
    if not counts:
        counts[engine_host()] = 0
    return [NodeCapacity(name, running) for name, running in sorted(counts.items())]


def _names(lab: RunningLab) -> set[str]:
    return {node for node in lab.nodes if node} or {engine_host()}


def _capacity(item) -> NodeCapacity:
    """A runtime's answer for one node, as a NodeCapacity."""
    if isinstance(item, NodeCapacity):
        return item
    if isinstance(item, dict):
        return NodeCapacity.from_row(item)
    maximum = getattr(item, "max_labs", getattr(item, "maximum", None))
    return NodeCapacity(item.name, int(item.running), maximum)


def places_on_nodes(nodes: list[NodeCapacity] | None) -> int | None:
    """How many labs the nodes may run in all, when every node has a maximum (None: no
    limit from the nodes)."""
    if not nodes or any(node.max_labs is None for node in nodes):
        return None
    return sum(node.max_labs for node in nodes)
