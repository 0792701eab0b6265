"""The lab runtime: start, grade and stop lab containers on an engine.

Import the interface from ``lms.labs.runtime.base``; obtain an implementation with
``get_runtime`` and its image builder with ``get_image_builder``, for a backend: ``docker``
(one engine) or ``swarm`` (services over a Docker Swarm's nodes). Nothing outside the
backends' packages sees a Docker object.
"""

from __future__ import annotations

from lms.labs.runtime.base import (
    LABEL_CONTAINER,
    LABEL_LAB,
    LABEL_OWNER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    BuildFailed,
    CheckResult,
    EngineNotAnswering,
    EngineUnavailable,
    ImageBuilder,
    ImageMissing,
    LabError,
    LabHandle,
    LabNotFound,
    LabRuntime,
    NodesFull,
    RunningLab,
    SecretFile,
    ShellChannel,
    ShellClosed,
    ShellGone,
    StartFailed,
    WebEndpoint,
)

BACKENDS = ("docker", "swarm")

__all__ = [
    "LABEL_CONTAINER",
    "LABEL_LAB",
    "LABEL_OWNER",
    "LABEL_PLATFORM",
    "LABEL_SESSION",
    "PLATFORM_NAME",
    "BuildFailed",
    "CheckResult",
    "EngineNotAnswering",
    "EngineUnavailable",
    "ImageBuilder",
    "ImageMissing",
    "LabError",
    "LabHandle",
    "LabNotFound",
    "LabRuntime",
    "NodesFull",
    "RunningLab",
    "SecretFile",
    "ShellChannel",
    "ShellClosed",
    "ShellGone",
    "StartFailed",
    "WebEndpoint",
    "get_image_builder",
    "get_runtime",
]


def get_runtime(docker_url: str | None = None, backend: str = "docker", **options) -> LabRuntime:
    """The runtime of ``backend`` on the engine at ``docker_url`` (default: the local
    engine's socket; for a swarm, a manager's).

    ``options`` are the platform maximums (``memory_bytes``, ``cpus``, ``pids``), which
    clamp any lab at start whatever lab.yaml says, and the backend's own settings.
    Creating the runtime does not contact the engine; ``ping`` does.
    """
    if backend == "swarm":
        from lms.labs.runtime.swarm import SwarmRuntime

        return SwarmRuntime(docker_url=docker_url, **options)
    _check_backend(backend)
    from lms.labs.runtime.docker import DockerRuntime

    return DockerRuntime(docker_url=docker_url, **options)


def get_image_builder(
    docker_url: str | None = None,
    backend: str = "docker",
    registry: str | None = None,
    **options,
) -> ImageBuilder:
    """Where ``lms labs build`` builds: the local engine (``docker``), or that engine and
    then ``registry`` for a swarm's nodes to pull from (``swarm``; ``options``: its
    ``node_engines``, to check the nodes when there is no registry)."""
    if backend == "swarm":
        from lms.labs.runtime.swarm import SwarmImageBuilder

        return SwarmImageBuilder(docker_url=docker_url, registry=registry, **options)
    _check_backend(backend)
    from lms.labs.runtime.docker import DockerImageBuilder

    return DockerImageBuilder(docker_url=docker_url)


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"LMS_LAB_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
