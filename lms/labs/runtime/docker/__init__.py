"""The Docker implementation of ``LabRuntime``: ``DockerRuntime`` (runtime.py), made of its
images, networks, containers and shells methods, and what they share (common.py)."""

from lms.labs.runtime.docker.common import (
    SUBNET_POOL,
    bridge_name,
    container_name,
    network_name,
)
from lms.labs.runtime.docker.images import DockerImageBuilder, image_tag
from lms.labs.runtime.docker.runtime import DockerRuntime
from lms.labs.runtime.docker.shells import DockerShell

__all__ = [
    "SUBNET_POOL",
    "DockerImageBuilder",
    "DockerRuntime",
    "DockerShell",
    "bridge_name",
    "container_name",
    "image_tag",
    "network_name",
]
