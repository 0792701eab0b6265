"""What a valid lab is (docs/lab-format.md): the frozen ``LabSpec`` and its parts, the
keys and limits lab.yaml may use, and ``LabSpecError``. ``lms.content.lab_parser`` builds
these from a folder; ``lms.content.lab_library`` loads and caches them for the platform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lms.content.issues import ContentError, ContentIssue

LAB_FILE = "lab.yaml"
SLUG_RE = re.compile(r"^(?=.{1,64}$)[a-z0-9]+(?:-[a-z0-9]+)*$")
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,29}$")
TASK_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
NETWORK_MODES = ("isolated", "none")
TASK_TYPES = ("flag", "check")
MIN_MEMORY = 16 * 1024**2
HASH_SKIP = {"__pycache__", ".git"}
MAX_CHECK_SECONDS = 120  # the runtime's API timeout (150 s) must stay above it

# Linux capability names (without CAP_), and those a lab may add back: Docker's
# default set plus a few a security course needs. The rest (SYS_ADMIN,
# SYS_MODULE, BPF, ...) reach the host kernel and are refused.
LAB_CAPABILITIES = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "KILL",
        "LEASE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
        "SYS_NICE",
        "SYS_PTRACE",
        "SYS_RESOURCE",
    }
)
CAPABILITIES = frozenset(
    {
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYSLOG",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "WAKE_ALARM",
    }
)

TOP_KEYS = {
    "title",
    "description",
    "ttl_minutes",
    "max_minutes",
    "limits",
    "network",
    "workstation",
    "containers",
    "flag",
    "tasks",
    "pool",
}
MAX_POOL = 200  # warm sessions one lab may keep ready (LMS_MAX_LABS_TOTAL caps them too)
LIMIT_KEYS = {"memory", "cpus", "pids"}
CONTAINER_KEYS = {"build", "image", "user", "workdir", "capabilities", "setuid", "ports"}
FLAG_KEYS = {"container", "path", "mode", "uid", "gid"}
TASK_KEYS = {
    "id",
    "title",
    "type",
    "points",
    "hint",
    "penalty",
    "container",
    "run",
    "timeout_seconds",
    "as",
}
CHECK_USERS = ("user", "root")  # `as:` of a check task: the container's user (default) or root


@dataclass(frozen=True)
class Limits:
    """Resource limits of one container."""

    memory_bytes: int = 256 * 1024**2
    cpus: float = 0.5
    pids: int = 128


@dataclass(frozen=True)
class ContainerSpec:
    """One container of a lab: built from a folder of the lab, or a named image."""

    name: str
    build: str | None = None
    image: str | None = None
    user: str | None = None
    workdir: str | None = None
    capabilities: tuple[str, ...] = ()
    setuid: bool = False
    ports: tuple[int, ...] = ()


@dataclass(frozen=True)
class FlagSpec:
    """Where the per-trainee flag is written at start, and its ``mode``.

    The file belongs to the flag container's ``user`` (root when it names none) unless
    ``uid``/``gid`` give its owner by number; None: not given.
    """

    container: str
    path: str
    mode: int = 0o400
    uid: int | None = None
    gid: int | None = None


@dataclass(frozen=True)
class TaskSpec:
    """A graded task: the trainee submits the flag, or the platform runs ``run``."""

    id: str
    title: str
    type: str
    points: int = 10
    hint: str | None = None
    penalty: int = 0  # points the hint costs, told before it is revealed
    container: str | None = None
    run: str | None = None
    timeout_seconds: int = 20
    run_as: str = "user"  # "user": the container's `user` (image default when none); "root"


@dataclass(frozen=True)
class LabSpec:
    """A validated lab. ``content_hash`` changes whenever lab.yaml or a build folder does."""

    slug: str
    title: str
    description: str
    limits: Limits
    network: str
    workstation: str
    containers: dict[str, ContainerSpec]
    flag: FlagSpec | None
    tasks: tuple[TaskSpec, ...]
    folder: Path
    content_hash: str
    ttl_minutes: int = 60
    max_minutes: int = 180
    pool: int = 0  # warm sessions kept started and unassigned (lms.labs.pools)
    warnings: tuple[ContentIssue, ...] = ()  # not errors: `lms courses check` prints them

    def task(self, task_id: str) -> TaskSpec | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def check_user(self, task: TaskSpec) -> str:
        """Who a check task runs as in its container: ``"0"`` for ``as: root``, otherwise the
        container's ``user``, or ``""`` (the image's own user) when it names none."""
        if task.run_as == "root":
            return "0"
        container = self.containers.get(task.container or self.workstation)
        return (container.user if container else None) or ""

    @property
    def ports(self) -> dict[str, tuple[int, ...]]:
        """Web ports per container, for the platform's proxy."""
        return {name: c.ports for name, c in self.containers.items() if c.ports}


class LabSpecError(ContentError):
    """A lab failed validation; ``issues`` (also ``errors``) lists every problem found."""

    @property
    def errors(self) -> list[ContentIssue]:
        return self.issues


def parse_size(text: Any) -> int | None:
    """``256m`` -> bytes (binary units k, m, g, t; optional ``b``/``ib``); None if not a size."""
    if isinstance(text, bool) or not isinstance(text, int | float | str):
        return None
    match = SIZE_RE.match(str(text))
    if not match:
        return None
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).lower()])


def format_size(size: int) -> str:
    for unit in ("t", "g", "m", "k"):
        if size % SIZE_UNITS[unit] == 0:
            return f"{size // SIZE_UNITS[unit]}{unit}"
    return str(size)
