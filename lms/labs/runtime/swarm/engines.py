"""The engines of a swarm's nodes. Execs, file writes and shells go to the container of a
service's task, on the node that runs it, through that node's engine: a ``DockerRuntime``
per node (task containers carry the session's labels, so its label lookups find them).

The manager's node uses LMS_DOCKER_URL's engine; another node's engine comes from
LMS_SWARM_NODE_ENGINES, over TLS when DOCKER_TLS_VERIFY is set: the client certificate of
DOCKER_CERT_PATH (``ca.pem``, ``cert.pem``, ``key.pem``), or of its sub-folder named after
the node when there is one."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import docker.tls

from lms.labs.runtime.base import LABEL_CONTAINER, LabNotFound
from lms.labs.runtime.docker import DockerRuntime
from lms.labs.runtime.docker.common import engine_errors


class NodeEngine(DockerRuntime):
    """One node's engine, seen as a DockerRuntime over the task containers it runs."""

    def __init__(self, docker_url: str | None, node: str | None = None, **options):
        super().__init__(docker_url=docker_url, guard_host=False, **options)
        self.node = node

    def _connect(self, timeout: float) -> docker.APIClient:
        tls = node_tls(self.node) if self._url and self._url.startswith("tcp://") else None
        if tls is None:
            return super()._connect(timeout)
        return docker.APIClient(
            base_url=self._url, version="auto", timeout=timeout, max_pool_size=64, tls=tls
        )

    def _task_container(self, session_key: str, container: str, running: bool) -> dict:
        found = [
            c
            for c in self._containers(session_key)
            if c["Labels"].get(LABEL_CONTAINER) == container
            and (c["State"] == "running" or not running)
        ]
        if not found:
            state = "running " if running else ""
            raise LabNotFound(f"lab session {session_key} has no {state}container {container}")
        return max(found, key=lambda c: (c["State"] == "running", c["Created"]))

    # A task container is named after its task (`lms-KEY-main.1.<task id>`), not
    # container_name(): find it by its labels instead, a running one first.
    def _running_container(self, session_key: str, container: str) -> dict:
        found = self._task_container(session_key, container, running=True)
        with engine_errors(LabNotFound, f"inspecting {container}"):
            return self.quick.inspect_container(found["Id"])

    def _container_id(self, session_key: str, container: str) -> str:
        return self._task_container(session_key, container, running=False)["Id"]


def node_tls(node: str | None) -> docker.tls.TLSConfig | None:
    """The TLS client settings for a node's engine, from the DOCKER_* environment."""
    if not os.environ.get("DOCKER_TLS_VERIFY") and not os.environ.get("DOCKER_CERT_PATH"):
        return None
    folder = Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    if node and (folder / node).is_dir():
        folder = folder / node
    verify = bool(os.environ.get("DOCKER_TLS_VERIFY"))
    return docker.tls.TLSConfig(
        client_cert=(str(folder / "cert.pem"), str(folder / "key.pem")),
        ca_cert=str(folder / "ca.pem") if verify else None,
        verify=verify,
    )
