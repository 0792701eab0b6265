"""The lab runtime of an app: one per app, created on first use (``create_app`` does no
I/O). ``app.extensions["lab_runtime"]`` may be set beforehand to inject another runtime
(a fake for unit tests). ``workers`` runs starts and stops off the request; ``health``
answers whether the engine is up.
"""

from __future__ import annotations

import threading

from flask import Flask, current_app

from lms.content.lab_model import parse_size
from lms.labs.runtime import ImageBuilder, LabRuntime, get_image_builder, get_runtime

RUNTIME_KEY = "lab_runtime"
IMAGE_BUILDER_KEY = "lab_image_builder"
_create_lock = threading.Lock()


def once_per_app(app: Flask | None, key: str, create):
    """``app.extensions[key]``, made by ``create(app)`` the first time, even under threads."""
    app = app or current_app._get_current_object()
    value = app.extensions.get(key)
    if value is None:
        with _create_lock:
            value = app.extensions.get(key)
            if value is None:
                value = app.extensions[key] = create(app)
    return value


def lab_runtime(app: Flask | None = None) -> LabRuntime:
    """The app's runtime, bounded by the platform maximums of the configuration."""

    def create(app: Flask) -> LabRuntime:
        config = app.config
        backend = config.get("LMS_LAB_BACKEND", "docker")
        return get_runtime(
            config.get("LMS_DOCKER_URL"),
            backend=backend,
            memory_bytes=parse_size(config["LMS_LAB_MAX_MEMORY"]),
            cpus=float(config["LMS_LAB_MAX_CPUS"]),
            pids=int(config["LMS_LAB_MAX_PIDS"]),
            **(swarm_options(config) if backend == "swarm" else {}),
        )

    return once_per_app(app, RUNTIME_KEY, create)


def lab_image_builder(app: Flask | None = None) -> ImageBuilder:
    """The app's image builder: for its backend, on its engine (and registry)."""

    def create(app: Flask) -> ImageBuilder:
        config = app.config
        backend = config.get("LMS_LAB_BACKEND", "docker")
        if backend != "swarm":
            return get_image_builder(config.get("LMS_DOCKER_URL"), backend=backend)
        options = swarm_options(config)
        del options["allow_new_privileges"]  # a runtime setting
        return get_image_builder(config.get("LMS_DOCKER_URL"), backend=backend, **options)

    return once_per_app(app, IMAGE_BUILDER_KEY, create)


def swarm_options(config) -> dict:
    """The swarm backend's settings: its registry, its nodes' engines, and whether labs
    may gain new privileges (Swarm on Engine 20.10 cannot forbid it)."""
    allow = str(config.get("LMS_SWARM_ALLOW_NEW_PRIVILEGES", False)).lower()
    return {
        "registry": config.get("LMS_REGISTRY") or None,
        "node_engines": config.get("LMS_SWARM_NODE_ENGINES") or None,
        "allow_new_privileges": allow in ("1", "true", "yes", "on"),
    }
