"""What the Docker runtime's parts share: names and labels of engine objects, limits of
the engine calls, and the translation of docker errors into the LabError family."""

from __future__ import annotations

import hashlib
import logging
import re
from contextlib import contextmanager
from datetime import UTC, datetime

import docker
import docker.errors
import requests

from lms.labs.runtime.base import (
    LABEL_CONTAINER,
    LABEL_LAB,
    LABEL_OWNER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    EngineNotAnswering,
    EngineUnavailable,
    LabError,
    RunningLab,
)

log = logging.getLogger(__name__)


IMAGE_REPO = "lms-lab"


NAME_PREFIX = "lms-"


BRIDGE_PREFIX = "lmsbr-"


# Lab bridges may answer the host (the platform's web proxy connects to lab
# services) but may not open connections to it. Inserted in reverse order.
_BRIDGES = ["-i", BRIDGE_PREFIX.rstrip("-") + "+"]


HOST_GUARD_RULES = [
    ["INPUT", *_BRIDGES, "-j", "DROP"],
    ["INPUT", *_BRIDGES, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"],
]


SESSION_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")


SHELLS = {"sh", "bash", "ash", "dash", "zsh"}


KEEP_ALIVE = ["sleep", "infinity"]


OUTPUT_TAIL = 4096


API_TIMEOUT = 150  # seconds; above the longest check (spec.MAX_CHECK_SECONDS) plus its grace


# Calls that answer at once on a healthy engine (ping, listing, inspecting, exec set-up):
# a hung engine fails them in seconds, so no page waits on it for API_TIMEOUT.
QUICK_TIMEOUT = 5.0


SUBNET_POOL = "10.213.0.0/16"


SUBNET_PREFIX = 27


# Signal every process of a session (field 6 of /proc/PID/stat), then the shell's
# group: plain sh, so it works with dash and busybox alike (no pkill needed).
SESSION_KILL = (
    "for p in /proc/[0-9]*; do read -r l 2>/dev/null < $p/stat || continue; "
    'set -- ${{l##*) }}; [ "$4" = {sid} ] && kill -{sig} ${{p#/proc/}} 2>/dev/null; done; '
    "kill -{sig} -{sid} 2>/dev/null; true"
)


PID_MARK = re.compile(rb"LMSPID:(\d+):\r?\n")


SHELL_SCRIPT = (
    'read -r _; printf "LMSPID:%s:\\n" "$$"; '
    "if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l"
)


def network_name(session_key: str) -> str:
    return f"{NAME_PREFIX}{session_key}"


def container_name(session_key: str, container: str) -> str:
    return f"{NAME_PREFIX}{session_key}-{container}"


def bridge_name(session_key: str) -> str:
    """Linux interface names stop at 15 characters: a hash keeps them unique and short."""
    return BRIDGE_PREFIX + hashlib.sha256(session_key.encode()).hexdigest()[:8]


def check_key(session_key: str) -> None:
    if not SESSION_KEY_RE.match(session_key or ""):
        raise LabError(f"invalid session key {session_key!r}: use [a-z0-9-], at most 48")


def session_filter(session_key: str | None = None) -> dict:
    labels = [f"{LABEL_PLATFORM}={PLATFORM_NAME}"]
    if session_key is not None:
        labels.append(f"{LABEL_SESSION}={session_key}")
    return {"label": labels}


class SessionExists(Exception):
    """Raised internally when the session's network or container name is taken."""


@contextmanager
def engine_errors(failure: type[LabError] = LabError, what: str = "the Docker engine"):
    """Translate docker and transport errors into the LabError family."""
    try:
        yield
    except LabError:
        raise
    except requests.exceptions.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
        raise EngineNotAnswering(f"the Docker engine is not answering: {exc}") from exc
    except requests.exceptions.ConnectionError as exc:
        raise EngineUnavailable(f"the Docker engine is unreachable: {exc}") from exc
    except docker.errors.APIError as exc:
        raise failure(f"{what}: {exc.explanation or exc}") from exc
    except docker.errors.DockerException as exc:
        if isinstance(exc.__context__, requests.exceptions.Timeout):  # fetching the API version
            raise EngineNotAnswering(f"the Docker engine is not answering: {exc}") from exc
        raise EngineUnavailable(f"the Docker engine is unavailable: {exc}") from exc


def output_tail(stream) -> str:
    """The last OUTPUT_TAIL bytes of an exec stream, decoded leniently."""
    kept = b""
    for chunk in stream:
        kept = (kept + chunk)[-OUTPUT_TAIL:]
    return kept.decode("utf-8", errors="replace")


def running_lab(session_key: str, containers: list[dict]) -> RunningLab:
    labels = containers[0]["Labels"]
    created = min(c["Created"] for c in containers)
    return RunningLab(
        session_key=session_key,
        owner=labels.get(LABEL_OWNER, ""),
        lab_slug=labels.get(LABEL_LAB, ""),
        container_names=tuple(sorted(c["Labels"].get(LABEL_CONTAINER, "") for c in containers)),
        created_at=datetime.fromtimestamp(created, UTC),
    )


class RemovesOrphans:
    """``remove_orphans`` for a runtime that has ``session_keys`` and ``stop`` (both
    backends: what a sweep removes is decided the same way)."""

    def remove_orphans(self, live_session_keys: set[str], *, key_prefix: str = "") -> list[str]:
        orphans = sorted(self.session_keys(key_prefix=key_prefix) - set(live_session_keys))
        for key in orphans:
            log.info("removing orphaned lab session %s", key)
            self.stop(key)
        return orphans
