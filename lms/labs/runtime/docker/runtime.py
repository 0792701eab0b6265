"""The Docker implementation of ``LabRuntime`` (docker SDK, low-level API).

Docker objects never leave this package: callers get the dataclasses of
``base`` and ``LabError`` subclasses. Every engine object is labelled, so
``stop``, ``list_running`` and ``remove_orphans`` find it again by label.

The parts: images, networks, containers and shells (each a mixin of methods), common."""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from contextlib import suppress
from dataclasses import replace

import docker
import docker.errors

from lms.content.lab_model import LabSpec
from lms.labs.runtime.base import (
    LABEL_CONTAINER,
    LABEL_LAB,
    LABEL_OWNER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    CheckResult,
    ImageMissing,
    LabError,
    LabHandle,
    LabNotFound,
    RunningLab,
    SecretFile,
    StartFailed,
    WebEndpoint,
)
from lms.labs.runtime.docker.common import (
    API_TIMEOUT,
    KEEP_ALIVE,
    QUICK_TIMEOUT,
    SUBNET_POOL,
    SUBNET_PREFIX,
    RemovesOrphans,
    SessionExists,
    check_key,
    container_name,
    engine_errors,
    log,
    network_name,
    output_tail,
    running_lab,
    session_filter,
)
from lms.labs.runtime.docker.containers import ContainerMethods
from lms.labs.runtime.docker.images import ImageMethods, image_tag, runs_bare_shell
from lms.labs.runtime.docker.networks import NetworkMethods
from lms.labs.runtime.docker.shells import ShellMethods


class DockerRuntime(ImageMethods, NetworkMethods, ContainerMethods, ShellMethods, RemovesOrphans):
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
        # (image id, user) -> (uid, gid): an image's /etc/passwd never changes, so a claimed
        # warm session's flag costs one engine call to write, not two.
        self._owner_ids: dict[tuple[str, str | None], tuple[int, int]] = {}

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
                with engine_errors():
                    self._clients[kind] = self._connect(self._timeouts[kind])
            return self._clients[kind]

    def _connect(self, timeout: float) -> docker.APIClient:
        options = {"base_url": self._url} if self._url else docker.utils.kwargs_from_env()
        return docker.APIClient(version="auto", timeout=timeout, max_pool_size=64, **options)

    def _engine_is_local(self) -> bool:
        url = self._url or os.environ.get("DOCKER_HOST", "unix://")
        return url.startswith(("unix://", "/"))

    def ping(self) -> None:
        with engine_errors():
            self.quick.ping()

    def start(
        self, session_key: str, spec: LabSpec, owner: str, secrets: list[SecretFile]
    ) -> LabHandle:
        check_key(session_key)
        commands = self._commands(spec)
        labels = {
            LABEL_PLATFORM: PLATFORM_NAME,
            LABEL_SESSION: session_key,
            LABEL_OWNER: str(owner),
            LABEL_LAB: spec.slug,
        }
        try:
            if spec.network == "isolated":
                self._create_network(session_key, labels)
            ids = {
                name: self._create_container(session_key, spec, c, labels, commands[name])
                for name, c in spec.containers.items()
            }
            self._write_secrets(ids, secrets)
            for container_id in ids.values():
                self._call(StartFailed, "starting the lab", self.api.start, container_id)
        except SessionExists as exc:
            raise StartFailed(f"a lab is already running for session {session_key}") from exc
        except BaseException as exc:
            self._cleanup_after(session_key, exc)
            if isinstance(exc, LabError) or not isinstance(exc, Exception):
                raise
            raise StartFailed(f"the lab could not start: {exc}") from exc
        return LabHandle(session_key=session_key, containers=tuple(ids))

    def write_files(self, session_key: str, secrets: list[SecretFile]) -> None:
        check_key(session_key)
        running = {
            name: self._running_container(session_key, name)
            for name in {s.container for s in secrets}
        }
        owned = []
        for secret in secrets:
            if secret.uid is None or secret.gid is None:
                found = running[secret.container]
                cache_key = (found["Image"], secret.owner)
                if cache_key not in self._owner_ids:
                    self._owner_ids[cache_key] = self._user_ids(
                        found["Id"], secret.container, secret.owner
                    )
                uid, gid = self._owner_ids[cache_key]
                secret = replace(
                    secret,
                    uid=uid if secret.uid is None else secret.uid,
                    gid=gid if secret.gid is None else secret.gid,
                )
            owned.append(secret)
        self._write_secrets({name: c["Id"] for name, c in running.items()}, owned)

    def _running_container(self, session_key: str, container: str) -> dict:
        """The session's running container, inspected by its name (no listing of all)."""
        try:
            with engine_errors(LabNotFound, f"inspecting {container}"):
                found = self.quick.inspect_container(container_name(session_key, container))
        except LabNotFound as exc:
            raise LabNotFound(f"lab session {session_key} has no container {container}") from exc
        labels = found["Config"]["Labels"] or {}
        if labels.get(LABEL_SESSION) != session_key or not found["State"]["Running"]:
            raise LabNotFound(f"lab session {session_key} has no running {container}")
        return found

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
            commands[name] = KEEP_ALIVE if runs_bare_shell(image) else None
        return commands

    def stop(self, session_key: str) -> None:
        for container in self._containers(session_key):
            self._ignore_missing(self.api.remove_container, container["Id"], force=True, v=True)
        for network in self._networks(session_key):
            self._remove_network(network["Id"])

    def _ignore_missing(self, call, *args, **kwargs) -> None:
        try:
            with engine_errors(LabError, "removing lab objects"):
                call(*args, **kwargs)
        except LabError as exc:
            missing = isinstance(exc.__cause__, docker.errors.NotFound)
            if not missing and "already in progress" not in str(exc):
                raise

    def _containers(self, session_key: str | None = None) -> list[dict]:
        with engine_errors():
            return self.quick.containers(all=True, filters=session_filter(session_key))

    def _networks(self, session_key: str | None = None) -> list[dict]:
        with engine_errors():
            return self.quick.networks(filters=session_filter(session_key))

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
        return [running_lab(key, found) for key, found in sorted(sessions.items())]

    def session_keys(self, *, key_prefix: str = "") -> set[str]:
        found = {c["Labels"].get(LABEL_SESSION) for c in self._containers()}
        found |= {(n.get("Labels") or {}).get(LABEL_SESSION) for n in self._networks()}
        return {k for k in found if k and k.startswith(key_prefix)}

    def web_endpoint(self, session_key: str, container: str, port: int) -> WebEndpoint:
        # The lab network is a bridge on this host: the platform routes to its addresses.
        container_id = self._container_id(session_key, container)
        with engine_errors(LabNotFound, f"inspecting {container}"):
            networks = self.quick.inspect_container(container_id)["NetworkSettings"]["Networks"]
        address = (networks.get(network_name(session_key)) or {}).get("IPAddress")
        if not address:
            raise LabNotFound(f"container {container} has no address on the lab network")
        return WebEndpoint(host=address, port=port)

    def run_check(
        self, session_key: str, container: str, command: str, timeout_seconds: int, user: str = "0"
    ) -> CheckResult:
        container_id = self._container_id(session_key, container)
        argv = ["timeout", "-k", "2", str(int(timeout_seconds)), "sh", "-c", command]
        began = time.monotonic()
        with engine_errors(LabNotFound, f"running a check in {container}"):
            exec_id = self.quick.exec_create(container_id, argv, user=user, workdir="/")["Id"]
            output = output_tail(self.api.exec_start(exec_id, stream=True))
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

    def _call(self, failure: type[LabError], what: str, call, *args, **kwargs):
        with engine_errors(failure, what):
            return call(*args, **kwargs)
