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
    "mode",
    "roles",
    "injects",
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
    "role",
}
CHECK_USERS = ("user", "root")  # `as:` of a check task: the container's user (default) or root

# Team labs (`mode: team`): one lab session shared by a team in an exercise, each member
# on their role's workstation; injects are events the exercise fires into it.
LAB_MODES = ("solo", "team")
MAX_ROLES = 8
MAX_INJECT_MINUTE = 24 * 60
ROLE_KEYS = {"title", "workstation", "description"}
INJECT_KEYS = {"id", "title", "at", "message", "run", "file"}
INJECT_RUN_KEYS = {"container", "command", "as", "timeout_seconds"}
INJECT_FILE_KEYS = {"container", "path", "content", "mode"}
INJECT_USERS = ("root", "user")  # `as:` of an inject's command: root (default) or the user


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
    role: str | None = None  # team labs: the role that owns it (None: the whole team)


@dataclass(frozen=True)
class RoleSpec:
    """A role of a team lab: its members' terminals open on ``workstation``."""

    name: str
    title: str
    workstation: str
    description: str = ""  # Markdown


@dataclass(frozen=True)
class InjectCommand:
    """A command an inject runs in a container of the team's lab when it fires."""

    container: str
    command: str
    as_root: bool = True  # False: as the container's `user`
    timeout_seconds: int = 30


@dataclass(frozen=True)
class InjectFile:
    """A file an inject writes into a container of the team's lab when it fires."""

    container: str
    path: str
    content: str
    mode: int = 0o444


@dataclass(frozen=True)
class InjectSpec:
    """An event of a team exercise: a message to the team, at a minute of the exercise's
    clock (None: only when the white cell fires it), with an optional command and file."""

    id: str
    title: str
    message: str  # Markdown
    at_minute: int | None = None
    run: InjectCommand | None = None
    file: InjectFile | None = None


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
    mode: str = "solo"  # "team": run by a team in an exercise, never by a module
    roles: tuple[RoleSpec, ...] = ()
    injects: tuple[InjectSpec, ...] = ()

    @property
    def is_team(self) -> bool:
        return self.mode == "team"

    def task(self, task_id: str) -> TaskSpec | None:
        return next((t for t in self.tasks if t.id == task_id), None)

    def role(self, name: str) -> RoleSpec | None:
        return next((r for r in self.roles if r.name == name), None)

    def inject(self, inject_id: str) -> InjectSpec | None:
        return next((i for i in self.injects if i.id == inject_id), None)

    def task_container(self, task: TaskSpec) -> str:
        """Where a check task runs: its ``container``, else its role's workstation, else
        the lab's workstation."""
        if task.container:
            return task.container
        role = self.role(task.role) if task.role else None
        return role.workstation if role else self.workstation

    def check_user(self, task: TaskSpec) -> str:
        """Who a check task runs as in its container: ``"0"`` for ``as: root``, otherwise the
        container's ``user``, or ``""`` (the image's own user) when it names none."""
        if task.run_as == "root":
            return "0"
        container = self.containers.get(self.task_container(task))
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
