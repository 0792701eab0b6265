"""What the swarm runtime's parts share: the names of its engine objects, node labels and
settings, and the parsing of LMS_SWARM_NODE_ENGINES. Session keys, labels and the error
translation are the Docker backend's (``lms.labs.runtime.docker.common``)."""

from __future__ import annotations

import hashlib
import json

from lms.labs.runtime.base import SecretFile
from lms.labs.runtime.docker.common import NAME_PREFIX

# A node runs labs when it carries `lms-labs=true` (when no node does, every node may).
LAB_NODE_LABEL = "lms-labs"
# A node's capacity: `lms-labs-max=N` labs at most (no label: no limit but the platform's).
NODE_MAX_LABEL = "lms-labs-max"

# Set by SwarmImageBuilder on images whose setuid/setgid bits it removed.
LABEL_SETUID_STRIPPED = "lms.setuid-stripped"

# The web gateway: a busybox TCP forwarder (`make services` builds the image) on a bridge
# of its own kind, where gateways cannot reach one another (inter-container traffic off).
GATEWAY_IMAGE = "lms-base/busybox:latest"
GATEWAY_NETWORK = "lms-gateways"
GATEWAY_MARK = "gw"

ALLOW_NEW_PRIVILEGES_SETTING = "LMS_SWARM_ALLOW_NEW_PRIVILEGES"

# Seconds a start waits for every task to run (a node may pull the image from a registry).
START_TIMEOUT = 120.0

# Task states after which a task never runs (restart condition none).
TASK_ENDED = {"complete", "shutdown", "failed", "rejected", "orphaned", "remove"}


def service_name(session_key: str, container: str) -> str:
    return f"{NAME_PREFIX}{session_key}-{container}"


def secret_name(session_key: str, secret: SecretFile) -> str:
    """Unique per session and file (a secret's content cannot change, so one each)."""
    digest = hashlib.sha256(f"{secret.container}\0{secret.path}".encode()).hexdigest()[:12]
    return f"{NAME_PREFIX}{session_key}-{digest}"


def gateway_name(session_key: str, container: str, port: int) -> str:
    return f"{NAME_PREFIX}{session_key}-{GATEWAY_MARK}-{container}-{int(port)}"


def parse_node_engines(text: str | dict | None) -> dict[str, str]:
    """LMS_SWARM_NODE_ENGINES: node hostname -> Docker URL, as a JSON object
    (`{"node-2": "tcp://10.0.0.2:2376"}`) or `node-2=tcp://10.0.0.2:2376,node-3=...`."""
    if not text:
        return {}
    if isinstance(text, dict):
        return {str(k): str(v) for k, v in text.items()}
    text = text.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"LMS_SWARM_NODE_ENGINES is not valid JSON: {exc}") from exc
        return parse_node_engines(parsed)
    engines = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        node, sep, url = part.partition("=")
        if not sep or not node.strip() or not url.strip():
            raise ValueError(
                f"LMS_SWARM_NODE_ENGINES: {part!r} is not node=url "
                "(e.g. node-2=tcp://10.0.0.2:2376)"
            )
        engines[node.strip()] = url.strip()
    return engines
