"""The lab-runtime interface: what views and services may rely on.

An engine (Docker today; Swarm or Kubernetes later) implements ``LabRuntime``.
Callers see only the plain dataclasses and the ``LabError`` family defined
here, never an engine object, so a second engine can be added without touching
views, services or the terminal bridge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from lms.content.lab_model import LabSpec

# Labels put on every engine object the platform creates. Sweeps use the same
# constants, so a sweep can never miss what a start created.
LABEL_PLATFORM = "lms.platform"
PLATFORM_NAME = "cyberrange-lms"
LABEL_SESSION = "lms.session"
LABEL_OWNER = "lms.owner"
LABEL_LAB = "lms.lab"
LABEL_CONTAINER = "lms.container"

ProgressCallback = Callable[[str], None]


@dataclass(frozen=True)
class SecretFile:
    """A file written into a container before it starts (never via its environment).

    Its owner: ``uid``/``gid`` when given, else those of ``owner``, the container's
    user as lab.yaml names it (``name``, ``uid`` or ``name:group``; None: root),
    looked up in the container's own /etc/passwd and /etc/group.
    """

    container: str
    path: str
    content: bytes
    mode: int = 0o400
    uid: int | None = None
    gid: int | None = None
    owner: str | None = None


@dataclass(frozen=True)
class LabHandle:
    """A started lab: the names of its containers (as lab.yaml gives them) and, per
    container, the node that runs it (None on a single engine). No engine ids: callers
    address a lab by its session key and container names only."""

    session_key: str
    containers: tuple[str, ...]
    nodes: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class WebEndpoint:
    """Where the web tier connects to reach a port a lab container serves: a host (an
    address or name the platform's own process can reach) and a port."""

    host: str
    port: int


@dataclass(frozen=True)
class CheckResult:
    """Outcome of a check command. ``output`` is the last 4 KiB, decoded leniently."""

    exit_code: int
    output: str
    timed_out: bool

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class RunningLab:
    """A lab found on the engine by its labels (for `lms labs ls` and reconciling)."""

    session_key: str
    owner: str
    lab_slug: str
    container_names: tuple[str, ...] = field(default_factory=tuple)
    created_at: datetime | None = None
    nodes: tuple[str, ...] = field(default_factory=tuple)  # where it runs (a swarm's nodes)


class LabError(Exception):
    """Root of every error the runtime raises: the engine or a lab's containers failed.

    Its message names what failed (for logs and administrators). Services catch it and
    raise a ``lms.labs.errors.LabActionError`` for the person who asked, which carries an
    HTTP status and a message they can act on; views never show a LabError as it is."""


class EngineUnavailable(LabError):
    """The container engine cannot be reached."""


class EngineNotAnswering(EngineUnavailable):
    """The engine takes connections but does not answer in time (hung or overloaded)."""


class ImageMissing(LabError):
    """A lab image is not built (or not pulled). ``image`` names it."""

    def __init__(self, image: str, message: str | None = None):
        self.image = image
        super().__init__(message or f"image {image} is missing")


class StartFailed(LabError):
    """The lab could not be started; nothing it created is left behind."""


class NodesFull(LabError):
    """Every node that may run labs runs as many as its capacity allows (a swarm's
    ``lms-labs-max`` node label): a capacity limit, not a fault. ``nodes`` names them."""

    def __init__(self, message: str, nodes: tuple[str, ...] = ()):
        self.nodes = nodes
        super().__init__(message)


class LabNotFound(LabError):
    """No running lab (or no such container in it) for this session key."""


class BuildFailed(LabError):
    """Building a lab image failed; the message carries the engine's last lines."""


class ShellClosed(LabError):
    """The shell behind a ShellChannel has ended (raised by ``recv`` after the last byte)."""


class ShellGone(LabError):
    """The held shell asked for (by name and pid) is not running any more."""


@runtime_checkable
class ShellChannel(Protocol):
    """An interactive shell with a TTY inside a lab container (the browser terminal).

    ``recv`` returns the bytes available, waiting at most ``timeout`` seconds
    (None: wait until some arrive); it returns b"" on timeout and raises
    ``ShellClosed`` once the shell has exited and everything was read.

    A *held* shell (``held``; opened with a ``name``) runs under a session holder
    in the container and outlives this channel: ``close`` only detaches from it,
    and any process may attach to it again by name (``reattached`` then tells so).
    ``end`` kills the shell's whole process group (and its holder) for good. A
    plain shell (no holder could be used) dies with its channel: ``close`` and
    ``end`` both kill it. Both are idempotent and must be called even after the
    shell exited by itself. ``pid`` is the shell's process id in the container.
    """

    pid: int | None
    held: bool
    reattached: bool

    def recv(self, timeout: float | None = None) -> bytes: ...

    def send(self, data: bytes) -> None: ...

    def resize(self, cols: int, rows: int) -> None: ...

    def close(self) -> None: ...

    def end(self) -> None: ...


@runtime_checkable
class ImageBuilder(Protocol):
    """Builds lab images where the engine that runs labs can use them: the local engine,
    or (for a swarm) a registry every node pulls from."""

    def image_tags(self, spec: LabSpec) -> dict[str, str]:
        """The image each container of ``spec`` runs: content-hash tags, or ``image:``."""

    def build(
        self, spec: LabSpec, progress: ProgressCallback | None = None, force: bool = False
    ) -> dict[str, str]:
        """Build the lab's images (skipped when the content-hash tag exists unless
        ``force``); forwards progress lines; raises BuildFailed. Returns image_tags."""


@runtime_checkable
class LabRuntime(Protocol):
    """Start, inspect, grade and stop labs on one container engine.

    Every method may raise ``EngineUnavailable``. Session keys are short
    strings of ``[a-z0-9-]`` chosen by the caller (unique per lab session).
    """

    def ping(self) -> None:
        """Return when the engine answers; raise EngineUnavailable otherwise."""

    def start(
        self, session_key: str, spec: LabSpec, owner: str, secrets: list[SecretFile]
    ) -> LabHandle:
        """Create the network and containers, write ``secrets`` before starting them,
        start them. On any failure removes what it created and raises ImageMissing
        or StartFailed."""

    def write_files(self, session_key: str, secrets: list[SecretFile]) -> None:
        """Write ``secrets`` into the session's running containers (a warm pool's session
        claimed by a trainee gets their flag this way), each owned and with the mode its
        SecretFile gives, never through the environment. Raises LabNotFound when a
        container is not there or not running, StartFailed when a write fails."""

    def stop(self, session_key: str) -> None:
        """Remove the session's containers and network; idempotent."""

    def is_running(self, session_key: str) -> bool:
        """True when every container of the session exists and runs."""

    def run_check(
        self, session_key: str, container: str, command: str, timeout_seconds: int, user: str = "0"
    ) -> CheckResult:
        """Run ``sh -c command`` as ``user`` in the container (a name or uid; "0": root,
        "": the image's user), killed after the timeout. Raises LabNotFound when the
        session or container does not exist."""

    def list_running(self) -> list[RunningLab]:
        """Every lab session the engine holds for this platform (containers running or
        exited: use ``is_running`` to tell them apart)."""

    def session_keys(self, *, key_prefix: str = "") -> set[str]:
        """The session keys starting with ``key_prefix`` of every platform container
        and network on the engine (a network left alone by a failed start included)."""

    def remove_orphans(self, live_session_keys: set[str], *, key_prefix: str = "") -> list[str]:
        """Remove platform containers and networks whose session key is not live;
        return the session keys removed. Only keys starting with ``key_prefix`` are
        considered (for several platforms, or test runs, sharing one engine)."""

    def web_endpoint(self, session_key: str, container: str, port: int) -> WebEndpoint:
        """Where the web tier connects to reach ``port`` of the container (the lab's web
        access). The backend decides how: Docker answers the container's address on the
        lab network, which the host routes to; a swarm answers a gateway it runs for the
        session. LabNotFound when there is none (no such container, or ``network: none``)."""

    def open_shell(
        self,
        session_key: str,
        container: str,
        user: str | None,
        workdir: str | None,
        cols: int,
        rows: int,
        *,
        name: str | None = None,
        pid: int | None = None,
    ) -> ShellChannel:
        """Open an interactive login shell with a TTY of ``cols`` x ``rows`` as ``user``
        (None: the image's user) in ``workdir``. Raises LabNotFound, or LabError when
        the shell does not start (an unknown user, say).

        With ``name`` (``[a-z0-9-]``, unique in the container) the shell is held:
        it is created under that name, or, with the ``pid`` a first opening
        reported, attached to again from any process, taking it over from any other
        attachment (ShellGone when it is not running any more). When no holder can
        be used in the container, a new shell is a plain one (``held`` False)."""

    def end_shell(
        self, session_key: str, container: str, user: str | None, name: str, pid: int
    ) -> None:
        """End the held shell ``name`` (the one ``pid`` was reported for) and its
        holder, from any process, attached or not; quiet when it is gone already."""
