"""The swarm's nodes: which may run labs, how many labs each runs and may run, and the
placement of a new lab's services.

A node runs labs when it is ready, active, and labelled ``lms-labs=true`` (when no node
has that label, every node may: a single-node test swarm needs no set-up). A node's
capacity is its ``lms-labs-max=N`` label; a full node is kept out of a new lab's
placement, and when every lab node is full the start raises ``NodesFull``."""

from __future__ import annotations

from collections import defaultdict

from lms.labs.runtime.base import LABEL_PLATFORM, LABEL_SESSION, PLATFORM_NAME, NodesFull
from lms.labs.runtime.docker.common import engine_errors
from lms.labs.runtime.swarm.common import LAB_NODE_LABEL, NODE_MAX_LABEL, TASK_ENDED


class NodeMethods:
    """The SwarmRuntime's nodes methods (mixed into it)."""

    def _nodes(self) -> list[dict]:
        with engine_errors():
            return self.quick.nodes()

    def _sessions_per_node(self) -> dict[str, set[str]]:
        """Node id -> the session keys with a task meant to run there."""
        with engine_errors():
            services = self.quick.services(filters={"label": f"{LABEL_PLATFORM}={PLATFORM_NAME}"})
            tasks = self.quick.tasks(filters={"desired-state": "running"})
        sessions = {s["ID"]: s["Spec"].get("Labels", {}).get(LABEL_SESSION) for s in services}
        found: dict[str, set[str]] = defaultdict(set)
        for task in tasks:
            key = sessions.get(task.get("ServiceID"))
            if key and task.get("NodeID") and task["Status"]["State"] not in TASK_ENDED:
                found[task["NodeID"]].add(key)
        return found

    def node_usage(self) -> list[dict]:
        """Per lab node: its hostname, the labs running there and its maximum (None: no
        ``lms-labs-max`` label)."""
        nodes, _ = lab_nodes(self._nodes())
        sessions = self._sessions_per_node()
        return [
            {
                "name": hostname(n),
                "running": len(sessions.get(n["ID"], ())),
                "max": node_max(n, self._capacity_label),
            }
            for n in sorted(nodes, key=hostname)
        ]

    def _placement(self) -> dict:
        """Constraints and preferences for a new lab's services; NodesFull when every lab
        node is at its maximum."""
        nodes, by_label = lab_nodes(self._nodes())
        if not nodes:
            raise NodesFull("no swarm node may run labs (none is ready and active)")
        sessions = self._sessions_per_node()
        full = [
            n
            for n in nodes
            if (maximum := node_max(n, self._capacity_label)) is not None
            and len(sessions.get(n["ID"], ())) >= maximum
        ]
        if len(full) == len(nodes):
            names = tuple(sorted(hostname(n) for n in full))
            raise NodesFull(
                f"every lab node runs its maximum of labs ({', '.join(names)}; "
                f"node label {self._capacity_label})",
                nodes=names,
            )
        constraints = [f"node.labels.{LAB_NODE_LABEL}==true"] if by_label else []
        constraints += [f"node.hostname!={hostname(n)}" for n in full]
        return {"constraints": constraints, "preferences": [("spread", "node.id")]}


def lab_nodes(nodes: list[dict]) -> tuple[list[dict], bool]:
    """The nodes that may run labs, and whether the ``lms-labs`` label chose them."""
    usable = [
        n
        for n in nodes
        if n["Status"]["State"] == "ready" and n["Spec"].get("Availability") == "active"
    ]
    if any(_labels(n).get(LAB_NODE_LABEL) == "true" for n in nodes):
        return [n for n in usable if _labels(n).get(LAB_NODE_LABEL) == "true"], True
    return usable, False


def _labels(node: dict) -> dict:
    return node["Spec"].get("Labels") or {}


def hostname(node: dict) -> str:
    return node["Description"]["Hostname"]


def node_max(node: dict, label: str = NODE_MAX_LABEL) -> int | None:
    value = _labels(node).get(label)
    try:
        return max(0, int(value)) if value is not None else None
    except ValueError:
        return None
