"""The lab runtime: start, grade and stop lab containers on an engine.

Import the interface from ``lms.labs.runtime.base``; obtain an implementation
with ``get_runtime``. Nothing outside ``docker.py`` sees a Docker object.
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
    ImageMissing,
    LabError,
    LabHandle,
    LabNotFound,
    LabRuntime,
    RunningLab,
    SecretFile,
    ShellChannel,
    ShellClosed,
    ShellGone,
    StartFailed,
)

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
    "ImageMissing",
    "LabError",
    "LabHandle",
    "LabNotFound",
    "LabRuntime",
    "RunningLab",
    "SecretFile",
    "ShellChannel",
    "ShellClosed",
    "ShellGone",
    "StartFailed",
    "get_runtime",
]


def get_runtime(docker_url: str | None = None, **limits) -> LabRuntime:
    """The Docker runtime for ``docker_url`` (default: the local engine's socket).

    ``limits`` are the platform maximums (``memory_bytes``, ``cpus``, ``pids``):
    a lab asking for more is clamped to them at start, whatever lab.yaml says.
    Creating the runtime does not contact the engine; ``ping`` does.
    """
    from lms.labs.runtime.docker import DockerRuntime

    return DockerRuntime(docker_url=docker_url, **limits)
