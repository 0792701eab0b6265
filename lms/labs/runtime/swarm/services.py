"""A session's services: one per lab container, on the session's internal overlay network,
with the lab's limits and capabilities, and its secret files as Swarm secrets."""

from __future__ import annotations

import time
from contextlib import suppress

import docker.errors
from docker.types import (
    ContainerSpec,
    DriverConfig,
    EndpointSpec,
    NetworkAttachmentConfig,
    Placement,
    Resources,
    RestartPolicy,
    SecretReference,
    TaskTemplate,
)

from lms.content import lab_model
from lms.content.lab_model import LabSpec
from lms.labs.runtime.base import (
    LABEL_CONTAINER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    ImageMissing,
    LabError,
    SecretFile,
    StartFailed,
)
from lms.labs.runtime.docker.common import SessionExists, engine_errors, network_name
from lms.labs.runtime.swarm.common import (
    TASK_ENDED,
    secret_name,
    service_name,
)
from lms.labs.runtime.swarm.nodes import hostname

# Which lab.yaml network the session's services were started for (a `network: none`
# lab runs on an overlay of its own too: Swarm has no network-less service).
LABEL_NETWORK = "lms.network"


class ServiceMethods:
    """The SwarmRuntime's services methods (mixed into it)."""

    def _create_network(self, session_key: str, labels: dict) -> str:
        try:
            with engine_errors(StartFailed, "creating the lab network"):
                return self.api.create_network(
                    network_name(session_key),
                    driver="overlay",
                    internal=True,
                    attachable=True,
                    labels=labels,
                    check_duplicate=True,
                )["Id"]
        except StartFailed as exc:
            if "already exists" in str(exc):
                raise SessionExists() from exc
            raise

    def _create_secrets(
        self, session_key: str, spec: LabSpec, secrets: list[SecretFile], images: dict, labels
    ) -> dict[str, list[SecretReference]]:
        """Each secret file as a Swarm secret of this session, mounted at its path, owned
        by its container's user (from the image's /etc/passwd) with its mode."""
        mounts: dict[str, list[SecretReference]] = {name: [] for name in spec.containers}
        for secret in secrets:
            if secret.container not in spec.containers:
                raise StartFailed(f"secret for unknown container {secret.container}")
            uid, gid = secret.uid, secret.gid
            if uid is None or gid is None:
                owner = self._owner_ids(images[secret.container], secret.container, secret.owner)
                uid = owner[0] if uid is None else uid
                gid = owner[1] if gid is None else gid
            name = secret_name(session_key, secret)
            try:
                with engine_errors(StartFailed, f"creating the secret for {secret.path}"):
                    created = self.api.create_secret(
                        name, secret.content, labels={**labels, LABEL_CONTAINER: secret.container}
                    )
            except StartFailed as exc:
                if "already exists" in str(exc):
                    raise SessionExists() from exc
                raise
            mounts[secret.container].append(
                SecretReference(
                    created["ID"],
                    name,
                    filename=secret.path,
                    uid=str(uid),
                    gid=str(gid),
                    mode=secret.mode,
                )
            )
        return mounts

    def _owner_ids(self, image: str, container: str, user: str | None) -> tuple[int, int]:
        """(uid, gid) of ``user`` in ``image``, read from a created (never started)
        container of it on the manager's engine; cached per image id."""
        if not user:
            return 0, 0
        local = self._local
        image_id = (local._image(image) or {}).get("Id", image)
        cache_key = (image_id, user)
        if cache_key not in local._owner_ids:
            with engine_errors(StartFailed, f"reading the users of {image}"):
                created = local.api.create_container(
                    image,
                    command=["true"],
                    network_disabled=True,
                    labels={LABEL_PLATFORM: PLATFORM_NAME},
                )["Id"]
            try:
                local._owner_ids[cache_key] = local._user_ids(created, container, user)
            finally:
                with suppress(LabError), engine_errors():
                    local.api.remove_container(created, force=True)
        return local._owner_ids[cache_key]

    def _create_service(self, session_key: str, spec: LabSpec, name: str, image: str, **parts):
        """One lab container as a service: one task, never restarted."""
        container = spec.containers[name]
        labels = {**parts["labels"], LABEL_CONTAINER: name, LABEL_NETWORK: spec.network}
        task = TaskTemplate(
            container_spec=ContainerSpec(
                image,
                command=parts["command"],
                hostname=name,
                user=container.user,
                workdir=container.workdir,
                labels=labels,
                secrets=parts["secrets"] or None,
                init=True,
                cap_drop=["ALL"],
                cap_add=list(container.capabilities) or None,
                stop_grace_period=2 * 10**9,
            ),
            resources=self._resources(spec.limits),
            restart_policy=RestartPolicy(condition="none"),
            placement=Placement(**parts["placement"]),
            networks=[NetworkAttachmentConfig(network_name(session_key), aliases=[name])],
            log_driver=DriverConfig("json-file", {"max-size": "1m", "max-file": "1"}),
        )
        try:
            with engine_errors(StartFailed, f"creating the service of {name}"):
                return self.api.create_service(
                    task,
                    name=service_name(session_key, name),
                    labels=labels,
                    # Names resolve to the task's address: no virtual IP to set up.
                    endpoint_spec=EndpointSpec(mode="dnsrr"),
                )["ID"]
        except StartFailed as exc:
            if "already exists" in str(exc) or "name conflicts" in str(exc):
                raise SessionExists() from exc
            raise

    def _resources(self, limits: lab_model.Limits) -> Resources:
        clamped = self._local._clamp(limits)
        resources = Resources(cpu_limit=int(clamped.cpus * 1e9), mem_limit=clamped.memory_bytes)
        resources["Limits"]["Pids"] = clamped.pids  # API 1.41; docker-py has no argument
        return resources

    def _wait_running(self, session_key: str, services: dict[str, str]) -> dict[str, str]:
        """Wait until every service's task runs; container name -> node hostname. A task
        that ends or is rejected fails the start: ImageMissing naming its node for an image
        the node lacks, StartFailed with the engine's reason otherwise."""
        deadline = time.monotonic() + self._start_timeout
        names = {service_id: name for name, service_id in services.items()}
        while True:
            with engine_errors(StartFailed, "waiting for the lab's tasks"):
                tasks = self.quick.tasks(filters={"service": list(services.values())})
            running = {}
            for task in tasks:
                name, status = names.get(task["ServiceID"]), task["Status"]
                if status["State"] in TASK_ENDED:
                    self._task_failed(session_key, name, task)
                if status["State"] == "running":
                    running[name] = task.get("NodeID")
            if set(running) == set(services):
                hosts = self._hostnames()
                return {name: hosts.get(node, node) for name, node in running.items()}
            if time.monotonic() > deadline:
                waiting = sorted(set(services) - set(running))
                raise StartFailed(
                    f"the lab's {', '.join(waiting)} did not start within "
                    f"{self._start_timeout:.0f} s (no node can run it?)"
                )
            time.sleep(0.2)

    def _task_failed(self, session_key: str, name: str, task: dict) -> None:
        status = task["Status"]
        reason = status.get("Err") or status.get("Message") or status["State"]
        node = self._hostnames().get(task.get("NodeID"), task.get("NodeID") or "no node")
        if "No such image" in reason or "pull access denied" in reason:
            image = task["Spec"]["ContainerSpec"]["Image"]
            raise ImageMissing(
                image,
                f"node {node} lacks {image}: build it there, or set LMS_REGISTRY so "
                "that `lms labs build` pushes it where every node pulls it",
            )
        raise StartFailed(
            f"container {name} of lab session {session_key} failed on {node}: {reason}"
        )

    def _hostnames(self) -> dict[str, str]:
        return {n["ID"]: hostname(n) for n in self._nodes()}

    def _services(self, session_key: str | None = None, name: str | None = None) -> list[dict]:
        filters = {"label": [f"{LABEL_PLATFORM}={PLATFORM_NAME}"]}
        if session_key is not None:
            filters["label"].append(f"{LABEL_SESSION}={session_key}")
        if name is not None:
            filters["name"] = name
        with engine_errors():
            return self.quick.services(filters=filters)

    def _tasks(self, service_ids: list[str]) -> list[dict]:
        if not service_ids:
            return []
        with engine_errors():
            return self.quick.tasks(filters={"service": service_ids})

    def _remove(self, call, *args, **kwargs) -> None:
        """Remove an engine object; quiet when it is gone already."""
        with engine_errors(LabError, "removing lab objects"), suppress(docker.errors.NotFound):
            call(*args, **kwargs)
