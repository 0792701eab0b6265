"""The Docker implementation of ``LabRuntime`` (docker SDK, low-level API).

Docker objects never leave this module: callers get the dataclasses of
``base`` and ``LabError`` subclasses. Every engine object is labelled, so
``stop``, ``list_running`` and ``remove_orphans`` find it again by label.

Isolation of a session: its own bridge network, ``internal`` (Docker drops
forwarding in and out of it), with a bridge interface named ``lmsbr-...`` so
one host rule, ``iptables -I INPUT -i lmsbr+ -j DROP``, keeps containers away
from the host's own listeners (the bridge gateway is a host address), while
replies to connections the host opens (the web proxy) still pass.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import logging
import os
import re
import select
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import PurePosixPath

import docker
import docker.errors
import requests
from docker.types import IPAMConfig, IPAMPool, LogConfig

from lms.content.lab_model import ContainerSpec, LabSpec, Limits
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
    ProgressCallback,
    RunningLab,
    SecretFile,
    ShellClosed,
    StartFailed,
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


def _check_key(session_key: str) -> None:
    if not SESSION_KEY_RE.match(session_key or ""):
        raise LabError(f"invalid session key {session_key!r}: use [a-z0-9-], at most 48")


def _session_filter(session_key: str | None = None) -> dict:
    labels = [f"{LABEL_PLATFORM}={PLATFORM_NAME}"]
    if session_key is not None:
        labels.append(f"{LABEL_SESSION}={session_key}")
    return {"label": labels}


class DockerRuntime:
    """A ``LabRuntime`` on one Docker engine. Thread-safe; connects on first use."""

    def __init__(
        self,
        docker_url: str | None = None,
        memory_bytes: int | None = None,
        cpus: float | None = None,
        pids: int | None = None,
        subnet_pool: str = SUBNET_POOL,
        guard_host: bool = True,
        timeout: float = API_TIMEOUT,
        quick_timeout: float = QUICK_TIMEOUT,
    ):
        self._url = docker_url
        self._max = (memory_bytes, cpus, pids)
        self._subnets = list(ipaddress.ip_network(subnet_pool).subnets(new_prefix=SUBNET_PREFIX))
        self._guard_host = guard_host and self._engine_is_local()
        self._guarded = False
        self._guard_lock = threading.Lock()
        self._timeouts = {"api": timeout, "quick": quick_timeout}
        self._clients: dict[str, docker.APIClient] = {}
        self._client_locks = {"api": threading.Lock(), "quick": threading.Lock()}

    # -- engine access --------------------------------------------------------

    @property
    def api(self) -> docker.APIClient:
        """The client for builds, starts, removals and streams (long timeout)."""
        return self._client("api")

    @property
    def quick(self) -> docker.APIClient:
        """The client for calls that answer at once (short timeout: a hang fails fast)."""
        return self._client("quick")

    def _client(self, kind: str) -> docker.APIClient:
        with self._client_locks[kind]:
            if kind not in self._clients:
                with _engine_errors():
                    self._clients[kind] = self._connect(self._timeouts[kind])
            return self._clients[kind]

    def _connect(self, timeout: float) -> docker.APIClient:
        options = {"base_url": self._url} if self._url else docker.utils.kwargs_from_env()
        return docker.APIClient(version="auto", timeout=timeout, max_pool_size=64, **options)

    def _engine_is_local(self) -> bool:
        url = self._url or os.environ.get("DOCKER_HOST", "unix://")
        return url.startswith(("unix://", "/"))

    def ping(self) -> None:
        with _engine_errors():
            self.quick.ping()

    # -- images -----------------------------------------------------------------

    def image_tags(self, spec: LabSpec) -> dict[str, str]:
        return {name: image_tag(spec, c) for name, c in spec.containers.items()}

    def build(
        self, spec: LabSpec, progress: ProgressCallback | None = None, force: bool = False
    ) -> dict[str, str]:
        say = progress or (lambda line: None)
        tags = self.image_tags(spec)
        for name, container in spec.containers.items():
            if container.image:
                self._pull(container.image, say)
            elif not force and self._image(tags[name]) is not None:
                say(f"{spec.slug}/{name}: {tags[name]} is up to date")
            else:
                self._build_one(spec, container, tags[name], say)
        return tags

    def _build_one(
        self, spec: LabSpec, container: ContainerSpec, tag: str, say: ProgressCallback
    ) -> None:
        say(f"{spec.slug}/{container.name}: building {tag}")
        labels = {LABEL_PLATFORM: PLATFORM_NAME, LABEL_LAB: spec.slug}
        with _engine_errors(BuildFailed, f"building {tag}"):
            stream = self.api.build(
                path=str(spec.folder / container.build),
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
                labels=labels,
            )
            for chunk in stream:
                if "error" in chunk:
                    raise BuildFailed(f"building {tag}: {chunk['error'].strip()}")
                for line in str(chunk.get("stream", "")).splitlines():
                    if line.strip():
                        say(line.rstrip())

    def _pull(self, image: str, say: ProgressCallback) -> None:
        if self._image(image) is not None:
            say(f"{image} is present")
            return
        say(f"pulling {image}")
        with _engine_errors(BuildFailed, f"pulling {image}"):
            self.api.pull(image)

    def _image(self, tag: str) -> dict | None:
        with _engine_errors():
            try:
                return self.api.inspect_image(tag)
            except docker.errors.ImageNotFound:
                return None

    # -- start ------------------------------------------------------------------

    def start(
        self, session_key: str, spec: LabSpec, owner: str, secrets: list[SecretFile]
    ) -> LabHandle:
        _check_key(session_key)
        commands = self._commands(spec)
        labels = {
            LABEL_PLATFORM: PLATFORM_NAME,
            LABEL_SESSION: session_key,
            LABEL_OWNER: str(owner),
            LABEL_LAB: spec.slug,
        }
        network_id = None
        try:
            if spec.network == "isolated":
                network_id = self._create_network(session_key, labels)
            ids = {
                name: self._create_container(session_key, spec, c, labels, commands[name])
                for name, c in spec.containers.items()
            }
            self._write_secrets(ids, secrets)
            for container_id in ids.values():
                self._call(StartFailed, "starting the lab", self.api.start, container_id)
        except _SessionExists as exc:
            raise StartFailed(f"a lab is already running for session {session_key}") from exc
        except BaseException as exc:
            self._cleanup_after(session_key, exc)
            if isinstance(exc, LabError) or not isinstance(exc, Exception):
                raise
            raise StartFailed(f"the lab could not start: {exc}") from exc
        return LabHandle(session_key=session_key, containers=ids, network_id=network_id)

    def _cleanup_after(self, session_key: str, exc: BaseException) -> None:
        log.warning("lab %s failed to start (%s); removing what was created", session_key, exc)
        with suppress(LabError):
            self.stop(session_key)

    def _commands(self, spec: LabSpec) -> dict[str, list[str] | None]:
        """Per container: None (the image's own command) or a keep-alive command."""
        commands = {}
        for name, container in spec.containers.items():
            tag = image_tag(spec, container)
            image = self._image(tag)
            if image is None:
                raise ImageMissing(
                    tag,
                    f"the lab {spec.slug} is not built ({tag} is missing): "
                    f"run `lms labs build {spec.slug}`",
                )
            commands[name] = KEEP_ALIVE if _runs_bare_shell(image) else None
        return commands

    def _create_network(self, session_key: str, labels: dict) -> str:
        self._ensure_host_guard()
        options = {"com.docker.network.bridge.name": bridge_name(session_key)}
        for subnet in self._candidate_subnets(session_key):
            gateway = str(next(subnet.hosts()))
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet), gateway=gateway)])
            try:
                with _engine_errors(StartFailed, "creating the lab network"):
                    return self.api.create_network(
                        network_name(session_key),
                        driver="bridge",
                        internal=True,
                        labels=labels,
                        options=options,
                        ipam=ipam,
                        check_duplicate=True,
                    )["Id"]
            except StartFailed as exc:
                if "already exists" in str(exc):
                    raise _SessionExists() from exc
                if "overlap" not in str(exc):
                    raise
        raise StartFailed("no free lab subnet: too many labs are running")

    def _candidate_subnets(self, session_key: str, attempts: int = 32) -> Iterator:
        """Subnets to try, starting at one chosen by the key and skipping those in use."""
        used = self._used_subnets()
        start = int(hashlib.sha256(session_key.encode()).hexdigest(), 16) % len(self._subnets)
        tried = 0
        for offset in range(len(self._subnets)):
            subnet = self._subnets[(start + offset) % len(self._subnets)]
            if any(subnet.overlaps(other) for other in used):
                continue
            yield subnet
            tried += 1
            if tried >= attempts:
                return

    def _used_subnets(self) -> list:
        with _engine_errors():
            networks = self.api.networks()
        used = []
        for network in networks:
            for config in (network.get("IPAM") or {}).get("Config") or []:
                with suppress(ValueError, KeyError):
                    used.append(ipaddress.ip_network(config["Subnet"], strict=False))
        return used

    def _create_container(
        self,
        session_key: str,
        spec: LabSpec,
        container: ContainerSpec,
        labels: dict,
        command: list[str] | None,
    ) -> str:
        isolated = spec.network == "isolated"
        networking = None
        if isolated:
            endpoint = self.api.create_endpoint_config(aliases=[container.name])
            networking = self.api.create_networking_config({network_name(session_key): endpoint})
        try:
            with _engine_errors(StartFailed, f"creating container {container.name}"):
                return self.api.create_container(
                    image_tag(spec, container),
                    command=command,
                    detach=True,
                    name=container_name(session_key, container.name),
                    hostname=container.name,
                    labels={**labels, LABEL_CONTAINER: container.name},
                    host_config=self._host_config(session_key, spec, container),
                    networking_config=networking,
                )["Id"]
        except StartFailed as exc:
            if not isolated and "is already in use" in str(exc):
                raise _SessionExists() from exc
            raise

    def _host_config(self, session_key: str, spec: LabSpec, container: ContainerSpec) -> dict:
        limits = self._clamp(spec.limits)
        network = network_name(session_key) if spec.network == "isolated" else "none"
        return self.api.create_host_config(
            privileged=False,
            cap_drop=["ALL"],
            cap_add=list(container.capabilities) or None,
            security_opt=None if container.setuid else ["no-new-privileges"],
            mem_limit=limits.memory_bytes,
            memswap_limit=limits.memory_bytes,
            nano_cpus=int(limits.cpus * 1e9),
            pids_limit=limits.pids,
            init=True,
            network_mode=network,
            restart_policy={"Name": "no"},
            read_only=False,
            log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        )

    def _clamp(self, limits: Limits) -> Limits:
        memory, cpus, pids = self._max
        return Limits(
            memory_bytes=min(limits.memory_bytes, memory or limits.memory_bytes),
            cpus=min(limits.cpus, cpus or limits.cpus),
            pids=min(limits.pids, pids or limits.pids),
        )

    def _write_secrets(self, ids: dict[str, str], secrets: list[SecretFile]) -> None:
        for secret in secrets:
            if secret.container not in ids:
                raise StartFailed(f"secret for unknown container {secret.container}")
            container_id = ids[secret.container]
            if secret.uid is None or secret.gid is None:
                uid, gid = self._user_ids(container_id, secret.container, secret.owner)
                secret = replace(
                    secret,
                    uid=uid if secret.uid is None else secret.uid,
                    gid=gid if secret.gid is None else secret.gid,
                )
            self._put_file(container_id, secret)

    def _user_ids(self, container_id: str, container: str, user: str | None) -> tuple[int, int]:
        """(uid, gid) of a container's ``user`` (``name``, ``uid``, ``name:group``, as
        Docker reads it), from the image's own /etc/passwd and /etc/group; root for None."""
        if not user:
            return 0, 0
        name, _, group = user.partition(":")
        numeric = name.isdigit() and group.isdigit()
        passwd = [] if numeric else self._etc_entries(container_id, "passwd")
        entry = next((e for e in passwd if name in (e[0], e[2])), None)
        if entry is None and not name.isdigit():
            raise StartFailed(
                f"container {container}: user {name} is not in the image's /etc/passwd, "
                "so the flag file cannot be given to it"
            )
        uid = int(name) if name.isdigit() else int(entry[2])
        if not group:
            return uid, int(entry[3]) if entry is not None else 0
        if group.isdigit():
            return uid, int(group)
        found = next((e for e in self._etc_entries(container_id, "group") if e[0] == group), None)
        if found is None:
            raise StartFailed(f"container {container}: group {group} is not in /etc/group")
        return uid, int(found[2])

    def _etc_entries(self, container_id: str, name: str) -> list[list[str]]:
        """The colon-separated lines of /etc/<name> in a (created) container; [] if none."""
        try:
            with _engine_errors(StartFailed, f"reading /etc/{name}"):
                stream, _ = self.api.get_archive(container_id, f"/etc/{name}")
                archive = b"".join(stream)
        except StartFailed as exc:
            if isinstance(exc.__cause__, docker.errors.NotFound):
                return []
            raise
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()), None)
            text = tar.extractfile(member).read().decode("utf-8", "replace") if member else ""
        return [line.split(":") for line in text.splitlines() if line.count(":") >= 3]

    def _put_file(self, container_id: str, secret: SecretFile) -> None:
        """Write the file with put_archive, creating missing parent folders (only those)."""
        target = PurePosixPath(secret.path)
        parent, missing = target.parent, []
        while True:
            archive = _secret_archive(secret, missing, target.name)
            try:
                with _engine_errors(StartFailed, f"writing {secret.path}"):
                    self.api.put_archive(container_id, str(parent), archive)
                return
            except StartFailed as exc:
                if not isinstance(exc.__cause__, docker.errors.NotFound) or parent.parent == parent:
                    raise
                missing.insert(0, parent.name)
                parent = parent.parent

    # -- host guard ---------------------------------------------------------------

    def _ensure_host_guard(self) -> None:
        """Once per process: lab bridges may not open connections to the host itself."""
        with self._guard_lock:
            if not self._guard_host or self._guarded:
                return
            self._guarded = True
            for tool in ("iptables", "ip6tables"):
                path = shutil.which(tool)
                if path is None or os.geteuid() != 0:
                    log.warning(
                        "%s unavailable: lab containers can reach host listeners on "
                        "the bridge gateway; bind platform services to 127.0.0.1",
                        tool,
                    )
                    continue
                _install_rules(path)

    # -- stop and inspect ---------------------------------------------------------

    def stop(self, session_key: str) -> None:
        for container in self._containers(session_key):
            self._ignore_missing(self.api.remove_container, container["Id"], force=True, v=True)
        for network in self._networks(session_key):
            self._remove_network(network["Id"])

    def _remove_network(self, network_id: str) -> None:
        for attempt in range(5):
            try:
                self._ignore_missing(self.api.remove_network, network_id)
                return
            except LabError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))  # endpoints still detaching

    def _ignore_missing(self, call, *args, **kwargs) -> None:
        try:
            with _engine_errors(LabError, "removing lab objects"):
                call(*args, **kwargs)
        except LabError as exc:
            missing = isinstance(exc.__cause__, docker.errors.NotFound)
            if not missing and "already in progress" not in str(exc):
                raise

    def _containers(self, session_key: str | None = None) -> list[dict]:
        with _engine_errors():
            return self.quick.containers(all=True, filters=_session_filter(session_key))

    def _networks(self, session_key: str | None = None) -> list[dict]:
        with _engine_errors():
            return self.quick.networks(filters=_session_filter(session_key))

    def is_running(self, session_key: str) -> bool:
        containers = self._containers(session_key)
        return bool(containers) and all(c["State"] == "running" for c in containers)

    def _container_id(self, session_key: str, container: str) -> str:
        for found in self._containers(session_key):
            if found["Labels"].get(LABEL_CONTAINER) == container:
                return found["Id"]
        raise LabNotFound(f"no container {container} in lab session {session_key}")

    def list_running(self) -> list[RunningLab]:
        sessions: dict[str, list[dict]] = {}
        for container in self._containers():
            key = container["Labels"].get(LABEL_SESSION)
            if key:
                sessions.setdefault(key, []).append(container)
        return [_running_lab(key, found) for key, found in sorted(sessions.items())]

    def session_keys(self, *, key_prefix: str = "") -> set[str]:
        found = {c["Labels"].get(LABEL_SESSION) for c in self._containers()}
        found |= {(n.get("Labels") or {}).get(LABEL_SESSION) for n in self._networks()}
        return {k for k in found if k and k.startswith(key_prefix)}

    def remove_orphans(self, live_session_keys: set[str], *, key_prefix: str = "") -> list[str]:
        orphans = sorted(self.session_keys(key_prefix=key_prefix) - set(live_session_keys))
        for key in orphans:
            log.info("removing orphaned lab session %s", key)
            self.stop(key)
        return orphans

    def container_address(self, session_key: str, container: str) -> str:
        container_id = self._container_id(session_key, container)
        with _engine_errors(LabNotFound, f"inspecting {container}"):
            networks = self.quick.inspect_container(container_id)["NetworkSettings"]["Networks"]
        address = (networks.get(network_name(session_key)) or {}).get("IPAddress")
        if not address:
            raise LabNotFound(f"container {container} has no address on the lab network")
        return address

    # -- exec: checks and shells ------------------------------------------------

    def run_check(
        self, session_key: str, container: str, command: str, timeout_seconds: int, user: str = "0"
    ) -> CheckResult:
        container_id = self._container_id(session_key, container)
        argv = ["timeout", "-k", "2", str(int(timeout_seconds)), "sh", "-c", command]
        began = time.monotonic()
        with _engine_errors(LabNotFound, f"running a check in {container}"):
            exec_id = self.quick.exec_create(container_id, argv, user=user, workdir="/")["Id"]
            output = _tail(self.api.exec_start(exec_id, stream=True))
            exit_code = self._exit_code(exec_id)
        timed_out = exit_code == 124 or (
            exit_code != 0 and time.monotonic() - began >= timeout_seconds
        )
        return CheckResult(exit_code=exit_code, output=output, timed_out=timed_out)

    def _exit_code(self, exec_id: str) -> int:
        for _ in range(50):
            state = self.quick.exec_inspect(exec_id)
            if not state["Running"] and state["ExitCode"] is not None:
                return int(state["ExitCode"])
            time.sleep(0.02)
        return -1

    def open_shell(
        self,
        session_key: str,
        container: str,
        user: str | None,
        workdir: str | None,
        cols: int,
        rows: int,
    ) -> DockerShell:
        container_id = self._container_id(session_key, container)
        with _engine_errors(LabNotFound, f"opening a shell in {container}"):
            exec_id = self.quick.exec_create(
                container_id,
                ["sh", "-c", SHELL_SCRIPT],
                stdin=True,
                tty=True,
                user=user or "",
                workdir=workdir,
                environment=["TERM=xterm-256color"],
            )["Id"]
            sock = self.api.exec_start(exec_id, tty=True, socket=True)
        shell = DockerShell(self, container_id, exec_id, sock, user)
        shell.handshake(cols, rows)
        return shell

    def _exec_quietly(self, container_id: str, script: str, user: str) -> None:
        with suppress(LabError), _engine_errors():
            exec_id = self.api.exec_create(container_id, ["sh", "-c", script], user=user)["Id"]
            self.api.exec_start(exec_id)

    def _call(self, failure: type[LabError], what: str, call, *args, **kwargs):
        with _engine_errors(failure, what):
            return call(*args, **kwargs)


class DockerShell:
    """A TTY shell exec'd in a container; see ``base.ShellChannel``.

    The shell is the session leader of its TTY (Docker starts a TTY exec in
    a new session), so ``close`` signals the whole session from a second exec:
    job-control process groups and background jobs included.
    """

    def __init__(self, runtime: DockerRuntime, container_id: str, exec_id: str, sock, user):
        self._runtime = runtime
        self._container_id = container_id
        self._exec_id = exec_id
        self._response_sock = sock
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._user = user or ""
        self._pending = b""
        self._pid: int | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The shell's process id inside the container (its session id)."""
        return self._pid

    def handshake(self, cols: int, rows: int, timeout: float = 10.0) -> None:
        """Release the wrapper script and read the shell's pid before any user output."""
        deadline = time.monotonic() + timeout
        buffer = b""
        try:
            self.send(b"\n")
            while (match := PID_MARK.search(buffer)) is None and time.monotonic() < deadline:
                buffer += self._read(max(0.0, deadline - time.monotonic()))
        except ShellClosed:
            match = None
        if match is None:
            self.close()
            raise LabError(
                f"the shell did not start (user {self._user or 'default'}): "
                f"{buffer[-200:].decode('utf-8', 'replace').strip()}"
            )
        self._pid = int(match.group(1))
        self._pending = buffer[match.end() :]
        self.resize(cols, rows)

    def recv(self, timeout: float | None = None) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._read(timeout)

    def _read(self, timeout: float | None) -> bytes:
        if self._closed:
            raise ShellClosed("the shell is closed")
        try:
            ready, _, _ = select.select([self._sock], [], [], timeout)
            if not ready:
                return b""
            data = self._sock.recv(65536)
        except (OSError, ValueError) as exc:
            raise ShellClosed("the shell connection broke") from exc
        if not data:
            raise ShellClosed("the shell has exited")
        return data

    def send(self, data: bytes) -> None:
        if self._closed:
            raise ShellClosed("the shell is closed")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ShellClosed("the shell connection broke") from exc

    def resize(self, cols: int, rows: int) -> None:
        with suppress(LabError), _engine_errors():
            self._runtime.quick.exec_resize(self._exec_id, height=int(rows), width=int(cols))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._pid is not None:
            self._kill_session(self._pid)
        for closable in (self._sock, self._response_sock):
            with suppress(Exception):
                closable.close()

    def _kill_session(self, pid: int) -> None:
        # Without CAP_KILL, root cannot signal the trainee's processes and the
        # trainee cannot signal root's (a setuid escalation): signal as both.
        hup, kill = (
            SESSION_KILL.format(sig="HUP", sid=pid),
            SESSION_KILL.format(sig="KILL", sid=pid),
        )
        self._runtime._exec_quietly(self._container_id, f"{hup}; sleep 0.3; {kill}", self._user)
        if self._user not in ("", "0", "root"):
            self._runtime._exec_quietly(self._container_id, kill, "0")


class _SessionExists(Exception):
    """Raised internally when the session's network or container name is taken."""


def image_tag(spec: LabSpec, container: ContainerSpec) -> str:
    """``lms-lab/<slug>-<container>:<content hash[:12]>``, or the lab's named image."""
    if container.image:
        return container.image
    return f"{IMAGE_REPO}/{spec.slug}-{container.name}:{spec.content_hash[:12]}"


@contextmanager
def _engine_errors(failure: type[LabError] = LabError, what: str = "the Docker engine"):
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


def _runs_bare_shell(image: dict) -> bool:
    """True when the image would run an interactive shell (and so exit at once)."""
    config = image.get("Config") or {}
    if config.get("Entrypoint"):
        return False
    command = config.get("Cmd") or []
    if not command:
        return True
    flags = command[1:]
    return PurePosixPath(command[0]).name in SHELLS and all(
        f.startswith("-") and f != "-c" for f in flags
    )


def _secret_archive(secret: SecretFile, missing: list[str], filename: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for depth in range(1, len(missing) + 1):
            folder = tarfile.TarInfo("/".join(missing[:depth]))
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            folder.uid, folder.gid, folder.mtime = secret.uid, secret.gid, int(time.time())
            tar.addfile(folder)
        info = tarfile.TarInfo("/".join([*missing, filename]))
        info.size, info.mode = len(secret.content), secret.mode
        info.uid, info.gid, info.mtime = secret.uid, secret.gid, int(time.time())
        tar.addfile(info, io.BytesIO(secret.content))
    return buffer.getvalue()


def _tail(stream) -> str:
    """The last OUTPUT_TAIL bytes of an exec stream, decoded leniently."""
    kept = b""
    for chunk in stream:
        kept = (kept + chunk)[-OUTPUT_TAIL:]
    return kept.decode("utf-8", errors="replace")


def _running_lab(session_key: str, containers: list[dict]) -> RunningLab:
    labels = containers[0]["Labels"]
    created = min(c["Created"] for c in containers)
    return RunningLab(
        session_key=session_key,
        owner=labels.get(LABEL_OWNER, ""),
        lab_slug=labels.get(LABEL_LAB, ""),
        container_names=tuple(sorted(c["Labels"].get(LABEL_CONTAINER, "") for c in containers)),
        created_at=datetime.fromtimestamp(created, UTC),
    )


def _install_rules(iptables: str) -> None:
    """Insert each rule at the top of INPUT unless present (idempotent, survives restarts)."""
    for rule in HOST_GUARD_RULES:
        if subprocess.run([iptables, "-C", *rule], capture_output=True).returncode == 0:
            continue
        added = subprocess.run([iptables, "-I", *rule], capture_output=True, text=True)
        if added.returncode != 0:
            log.warning("could not add the lab host guard with %s: %s", iptables, added.stderr)
