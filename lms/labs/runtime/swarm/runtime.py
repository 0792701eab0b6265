"""The Docker Swarm implementation of ``LabRuntime``.

Each lab container is a service with one task, never restarted, on the session's
``internal`` and ``attachable`` overlay network; every service, network, secret and
gateway carries the Docker backend's labels (the task containers too), so ``stop``,
``list_running`` and ``remove_orphans`` find them again by label. Terminals, checks and
file writes go to a task's container through its node's engine (``engines.NodeEngine``).

The parts: nodes (placement and capacity), services (and secrets), gateway (web access),
images (the builder and the checks at start), engines (the nodes' Docker engines)."""

from __future__ import annotations

import os
import time
from contextlib import suppress
from datetime import datetime

from lms.content.lab_model import LabSpec
from lms.labs.runtime.base import (
    LABEL_CONTAINER,
    LABEL_LAB,
    LABEL_OWNER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    CheckResult,
    EngineUnavailable,
    ImageMissing,
    LabError,
    LabHandle,
    LabNotFound,
    RunningLab,
    SecretFile,
    ShellChannel,
    StartFailed,
)
from lms.labs.runtime.docker.common import (
    API_TIMEOUT,
    KEEP_ALIVE,
    QUICK_TIMEOUT,
    RemovesOrphans,
    SessionExists,
    check_key,
    engine_errors,
    log,
    session_filter,
)
from lms.labs.runtime.docker.images import runs_bare_shell
from lms.labs.runtime.swarm.common import (
    ALLOW_NEW_PRIVILEGES_SETTING,
    LABEL_SETUID_STRIPPED,
    NODE_MAX_LABEL,
    START_TIMEOUT,
    parse_node_engines,
)
from lms.labs.runtime.swarm.engines import NodeEngine
from lms.labs.runtime.swarm.gateway import GatewayMethods
from lms.labs.runtime.swarm.images import (
    lacking_message,
    nodes_lacking,
    strips_setuid,
    swarm_tag,
)
from lms.labs.runtime.swarm.nodes import NodeMethods, hostname
from lms.labs.runtime.swarm.services import ServiceMethods


class SwarmRuntime(NodeMethods, ServiceMethods, GatewayMethods, RemovesOrphans):
    """A ``LabRuntime`` on a Docker Swarm whose manager's engine is at ``docker_url``.
    Thread-safe; connects on first use."""

    def __init__(
        self,
        docker_url: str | None = None,
        memory_bytes: int | None = None,
        cpus: float | None = None,
        pids: int | None = None,
        registry: str | None = None,
        node_engines: str | dict | None = None,
        allow_new_privileges: bool | None = None,
        timeout: float = API_TIMEOUT,
        quick_timeout: float = QUICK_TIMEOUT,
        start_timeout: float = START_TIMEOUT,
        capacity_label: str = NODE_MAX_LABEL,
    ):
        # The manager's engine: the swarm's API, and the containers of its own node.
        self._local = NodeEngine(
            docker_url,
            memory_bytes=memory_bytes,
            cpus=cpus,
            pids=pids,
            timeout=timeout,
            quick_timeout=quick_timeout,
        )
        self._url = docker_url
        self._registry = registry or None
        self._node_urls = parse_node_engines(node_engines)
        if allow_new_privileges is None:
            setting = os.environ.get(ALLOW_NEW_PRIVILEGES_SETTING, "")
            allow_new_privileges = setting.lower() in ("1", "true", "yes")
        self._allow_new_privileges = allow_new_privileges
        self._start_timeout = start_timeout
        # The node label giving a node's maximum of labs (another one for a second
        # platform sharing the swarm, or a test that must not fill the shared nodes).
        self._capacity_label = capacity_label
        self._engines: dict[str, NodeEngine] = {}
        self._own_node: str | None = None

    @property
    def api(self):
        return self._local.api

    @property
    def quick(self):
        return self._local.quick

    def ping(self) -> None:
        with engine_errors():
            self.quick.ping()
            swarm = self.quick.info().get("Swarm") or {}
        if not swarm.get("ControlAvailable"):
            where = self._url or "the local socket"
            raise EngineUnavailable(
                f"the engine at {where} is not a swarm manager: run `docker swarm init` "
                "(or point LMS_DOCKER_URL at a manager)"
            )

    # -- start ----------------------------------------------------------------------------

    def start(
        self, session_key: str, spec: LabSpec, owner: str, secrets: list[SecretFile]
    ) -> LabHandle:
        check_key(session_key)
        images, commands = self._images(spec)
        placement = self._placement()
        labels = {
            LABEL_PLATFORM: PLATFORM_NAME,
            LABEL_SESSION: session_key,
            LABEL_OWNER: str(owner),
            LABEL_LAB: spec.slug,
        }
        try:
            self._create_network(session_key, labels)
            mounts = self._create_secrets(session_key, spec, secrets, images, labels)
            services = {
                name: self._create_service(
                    session_key,
                    spec,
                    name,
                    images[name],
                    command=commands[name],
                    labels=labels,
                    secrets=mounts[name],
                    placement=placement,
                )
                for name in spec.containers
            }
            nodes = self._wait_running(session_key, services)
        except SessionExists as exc:
            raise StartFailed(f"a lab is already running for session {session_key}") from exc
        except BaseException as exc:
            log.warning("lab %s failed to start (%s); removing what was created", session_key, exc)
            with suppress(LabError):
                self.stop(session_key)
            if isinstance(exc, LabError) or not isinstance(exc, Exception):
                raise
            raise StartFailed(f"the lab could not start: {exc}") from exc
        return LabHandle(session_key=session_key, containers=tuple(services), nodes=nodes)

    def _images(self, spec: LabSpec) -> tuple[dict[str, str], dict[str, list[str] | None]]:
        """Per container: the image its service runs, and its command (None: the image's;
        a keep-alive for a bare-shell image). Refuses what this backend cannot run safely."""
        images, commands = {}, {}
        for name, container in spec.containers.items():
            if container.image and not container.setuid and not self._allow_new_privileges:
                raise StartFailed(
                    f"the lab {spec.slug} runs the image {container.image} in {name} without "
                    "`setuid: true`: Swarm services cannot forbid new privileges on this "
                    "engine, and the platform does not build that image to remove its setuid "
                    f"programs; set {ALLOW_NEW_PRIVILEGES_SETTING}=true to run it anyway"
                )
            tag = swarm_tag(self._registry, spec, container)
            found = self._local._image(tag)
            if found is None:
                raise ImageMissing(
                    tag,
                    f"the lab {spec.slug} is not built: node {self._own_hostname()} (the "
                    f"manager) lacks {tag}: run `lms labs build {spec.slug}`",
                )
            labels = (found.get("Config") or {}).get("Labels") or {}
            if strips_setuid(container) and labels.get(LABEL_SETUID_STRIPPED) != "true":
                raise ImageMissing(
                    tag,
                    f"{tag} still has its setuid programs: run `lms labs build {spec.slug}` "
                    "with LMS_LAB_BACKEND=swarm (it removes them)",
                )
            images[name] = tag
            commands[name] = KEEP_ALIVE if runs_bare_shell(found) else None
        if not self._registry:
            lacking = nodes_lacking(self.quick, self._node_urls, set(images.values()))
            if lacking:
                raise ImageMissing(
                    ", ".join(sorted(set(images.values()))), lacking_message(lacking, spec.slug)
                )
        return images, commands

    # -- stop, state, listing ---------------------------------------------------------------

    def stop(self, session_key: str) -> None:
        for service in self._services(session_key):
            self._remove(self.api.remove_service, service["ID"])
        for gateway in self._gateways(session_key):
            self._remove(self.api.remove_container, gateway["Id"], force=True)
        # A service's secrets and network are in use until its task's container is gone;
        # and the lab is stopped when its containers are (on this node: others' engines
        # may not be reachable, and their agents remove them the same way).
        # The agent stops them in its own time (seconds): remove them at once here.
        deadline = time.monotonic() + 30
        for container in self._local._containers(session_key):
            with suppress(LabError):
                self._remove(self.api.remove_container, container["Id"], force=True)
        while self._local._containers(session_key) and time.monotonic() < deadline:
            time.sleep(0.2)
        for kind in ("secrets", "networks"):
            for found in self._session_objects(kind, session_key):
                self._remove_when_free(kind, found, deadline)
        # A removed overlay lingers in the manager's listing until its node lets it go:
        # wait, so that the session's key is not found again as an orphan.
        while self._session_objects("networks", session_key) and time.monotonic() < deadline:
            time.sleep(0.2)

    def _session_objects(self, kind: str, session_key: str | None = None) -> list[dict]:
        with engine_errors():
            if kind == "secrets":
                return self.quick.secrets(filters=session_filter(session_key))
            return [
                n
                for n in self.quick.networks(filters=session_filter(session_key))
                if n.get("Driver") == "overlay"
            ]

    def _remove_when_free(self, kind: str, found: dict, deadline: float) -> None:
        remove = self.api.remove_secret if kind == "secrets" else self.api.remove_network
        object_id = found.get("ID") or found.get("Id")
        while True:
            try:
                self._remove(remove, object_id)
                return
            except LabError as exc:
                if "in use" not in str(exc) and "active endpoints" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)

    def is_running(self, session_key: str) -> bool:
        services = self._services(session_key)
        if not services:
            return False
        running = {
            t["ServiceID"]
            for t in self._tasks([s["ID"] for s in services])
            if t["Status"]["State"] == "running"
        }
        return all(s["ID"] in running for s in services)

    def list_running(self) -> list[RunningLab]:
        services = self._services()
        tasks = self._tasks([s["ID"] for s in services])
        hosts = self._hostnames() if tasks else {}
        nodes_of = {
            t["ServiceID"]: hosts.get(t.get("NodeID"), t.get("NodeID"))
            for t in tasks
            if t.get("NodeID") and t.get("DesiredState") == "running"
        }
        sessions: dict[str, list[dict]] = {}
        for service in services:
            key = (service["Spec"].get("Labels") or {}).get(LABEL_SESSION)
            if key:
                sessions.setdefault(key, []).append(service)
        return [self._running_lab(key, found, nodes_of) for key, found in sorted(sessions.items())]

    @staticmethod
    def _running_lab(key: str, services: list[dict], nodes_of: dict) -> RunningLab:
        labels = services[0]["Spec"].get("Labels") or {}
        created = min(
            datetime.fromisoformat(s["CreatedAt"][:26].rstrip("Z") + "+00:00") for s in services
        )
        return RunningLab(
            session_key=key,
            owner=labels.get(LABEL_OWNER, ""),
            lab_slug=labels.get(LABEL_LAB, ""),
            container_names=tuple(
                sorted((s["Spec"].get("Labels") or {}).get(LABEL_CONTAINER, "") for s in services)
            ),
            created_at=created,
            nodes=tuple(sorted({nodes_of[s["ID"]] for s in services if s["ID"] in nodes_of})),
        )

    def session_keys(self, *, key_prefix: str = "") -> set[str]:
        found = {(s["Spec"].get("Labels") or {}).get(LABEL_SESSION) for s in self._services()}
        found |= {(g.get("Labels") or {}).get(LABEL_SESSION) for g in self._gateways()}
        for kind in ("secrets", "networks"):
            for item in self._session_objects(kind):
                labels = item.get("Labels") or (item.get("Spec") or {}).get("Labels") or {}
                found.add(labels.get(LABEL_SESSION))
        return {k for k in found if k and k.startswith(key_prefix)}

    # -- into a task's container, through its node's engine ------------------------------

    def _engine(self, session_key: str, container: str) -> NodeEngine:
        """The engine of the node running the container's task."""
        service = self._service(session_key, container)
        tasks = [t for t in self._tasks([service["ID"]]) if t["Status"]["State"] == "running"]
        if not tasks:
            raise LabNotFound(f"container {container} of lab session {session_key} is not running")
        node_id = tasks[0]["NodeID"]
        if self._own_node is None:
            with engine_errors():
                self._own_node = (self.quick.info().get("Swarm") or {}).get("NodeID")
        if node_id == self._own_node:
            return self._local
        found = next((n for n in self._nodes() if n["ID"] == node_id), None)
        if found is None:
            raise LabNotFound(f"the node that ran {container} of {session_key} has left")
        node = hostname(found)
        if node not in self._engines:
            if node not in self._node_urls:
                raise LabError(
                    f"node {node} runs {container} of lab session {session_key}, but "
                    "LMS_SWARM_NODE_ENGINES names no engine for it"
                )
            self._engines[node] = NodeEngine(self._node_urls[node], node=node)
        return self._engines[node]

    def _own_hostname(self) -> str:
        with engine_errors():
            return self.quick.info().get("Name", "?")

    def write_files(self, session_key: str, secrets: list[SecretFile]) -> None:
        check_key(session_key)
        for container in sorted({s.container for s in secrets}):
            mine = [s for s in secrets if s.container == container]
            self._engine(session_key, container).write_files(session_key, mine)

    def run_check(
        self, session_key: str, container: str, command: str, timeout_seconds: int, user: str = "0"
    ) -> CheckResult:
        engine = self._engine(session_key, container)
        return engine.run_check(session_key, container, command, timeout_seconds, user=user)

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
        engine = self._engine(session_key, container)
        return engine.open_shell(
            session_key, container, user, workdir, cols, rows, name=name, pid=pid
        )

    def end_shell(
        self, session_key: str, container: str, user: str | None, name: str, pid: int
    ) -> None:
        try:
            engine = self._engine(session_key, container)
        except LabNotFound:
            return  # the lab is gone, and its shells with it
        engine.end_shell(session_key, container, user, name, pid)
