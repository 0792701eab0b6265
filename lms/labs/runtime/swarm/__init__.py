"""The Docker Swarm implementation of ``LabRuntime``: ``SwarmRuntime`` (runtime.py) runs each
lab container as a one-task service on a per-session internal overlay network, placed on the
swarm's lab nodes (nodes.py); it execs, writes files and opens shells in a task's container
through the engine of the node that runs it (engines.py, a DockerRuntime per node); the web
tier reaches a lab's port through a per-session gateway container (gateway.py).
``SwarmImageBuilder`` (images.py) builds on the manager's engine, strips setuid bits, and
pushes to a registry every node pulls from."""

from lms.labs.runtime.base import NodesFull
from lms.labs.runtime.swarm.common import parse_node_engines
from lms.labs.runtime.swarm.images import SwarmImageBuilder
from lms.labs.runtime.swarm.runtime import SwarmRuntime

__all__ = ["NodesFull", "SwarmImageBuilder", "SwarmRuntime", "parse_node_engines"]
