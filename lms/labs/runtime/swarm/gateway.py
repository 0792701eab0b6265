"""The web gateway: how the web tier (a process on the manager's host) reaches a port of a
lab container on the session's overlay, which is internal and so publishes nothing.

Per session, container and port: a standalone busybox container on the manager's engine,
attached to the session's attachable overlay and to the ``lms-gateways`` bridge, that
forwards connections (``nc -ll -p 8080 -e nc SERVICE PORT``) from a port published on 127.0.0.1
only. It runs as nobody, without capabilities or new privileges, with IP forwarding off,
so lab containers gain no route out through it (they have no route to use it either);
gateways cannot reach each other (the bridge's inter-container traffic is off). It carries
the session's labels: ``stop`` and ``remove_orphans`` remove it with the lab."""

from __future__ import annotations

from contextlib import suppress

import docker.errors

from lms.labs.runtime.base import (
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    LabError,
    LabNotFound,
    WebEndpoint,
)
from lms.labs.runtime.docker.common import check_key, engine_errors, network_name
from lms.labs.runtime.swarm.common import (
    GATEWAY_IMAGE,
    GATEWAY_NETWORK,
    gateway_name,
    service_name,
)

LABEL_GATEWAY = "lms.gateway"  # the container and port it forwards to
LISTEN_PORT = 8080


class GatewayMethods:
    """The SwarmRuntime's gateway methods (mixed into it)."""

    def web_endpoint(self, session_key: str, container: str, port: int) -> WebEndpoint:
        check_key(session_key)
        service = self._service(session_key, container)
        labels = service["Spec"].get("Labels") or {}
        if labels.get("lms.network") == "none":
            raise LabNotFound(f"container {container} has no network (network: none)")
        name = gateway_name(session_key, container, port)
        published = self._gateway_port(name)
        if published is None:
            published = self._create_gateway(session_key, container, int(port), name)
        return WebEndpoint(host="127.0.0.1", port=published)

    def _service(self, session_key: str, container: str) -> dict:
        name = service_name(session_key, container)
        for service in self._services(session_key, name=name):
            if service["Spec"]["Name"] == name:  # the name filter matches prefixes
                return service
        raise LabNotFound(f"no container {container} in lab session {session_key}")

    def _gateway_port(self, name: str) -> int | None:
        """The host port of a running gateway; None when there is none (a stopped one
        is removed)."""
        api = self._local.quick
        with engine_errors(LabError, "inspecting the web gateway"):
            try:
                found = api.inspect_container(name)
            except docker.errors.NotFound:
                return None
        bindings = (found["NetworkSettings"].get("Ports") or {}).get(f"{LISTEN_PORT}/tcp")
        if found["State"]["Running"] and bindings:
            return int(bindings[0]["HostPort"])
        self._remove(api.remove_container, found["Id"], force=True)
        return None

    def _create_gateway(self, session_key: str, container: str, port: int, name: str) -> int:
        api = self._local.api
        self._ensure_gateway_network()
        labels = {
            LABEL_PLATFORM: PLATFORM_NAME,
            LABEL_SESSION: session_key,
            LABEL_GATEWAY: f"{container}:{port}",
        }
        host_config = api.create_host_config(
            port_bindings={LISTEN_PORT: ("127.0.0.1", None)},
            network_mode=GATEWAY_NETWORK,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            sysctls={"net.ipv4.ip_forward": "0"},
            read_only=True,
            mem_limit=32 * 1024**2,
            pids_limit=64,
            init=True,
            restart_policy={"Name": "no"},
        )
        # nc -ll: a persistent server, forking `nc SERVICE PORT` per connection
        command = ["nc", "-ll", "-p", str(LISTEN_PORT), "-e", "nc"]
        try:
            with engine_errors(LabError, f"creating the web gateway of {container}"):
                created = api.create_container(
                    GATEWAY_IMAGE,
                    command=[*command, service_name(session_key, container), str(port)],
                    name=name,
                    user="65534:65534",
                    labels=labels,
                    ports=[LISTEN_PORT],
                    host_config=host_config,
                )["Id"]
        except LabError as exc:
            if "is already in use" in str(exc):  # another request made it meanwhile
                found = self._gateway_port(name)
                if found is not None:
                    return found
            raise
        try:
            with engine_errors(LabError, f"starting the web gateway of {container}"):
                api.connect_container_to_network(created, network_name(session_key))
                api.start(created)
            published = self._gateway_port(name)
            if published is None:
                raise LabError(f"the web gateway of {container} did not start")
            return published
        except BaseException:
            with suppress(LabError):
                self._remove(api.remove_container, created, force=True)
            raise

    def _ensure_gateway_network(self) -> None:
        api = self._local.api
        with engine_errors(LabError, "creating the gateways' network"):
            if api.networks(names=[GATEWAY_NETWORK]):
                return
            with suppress(docker.errors.APIError):  # made by another process meanwhile
                api.create_network(
                    GATEWAY_NETWORK,
                    driver="bridge",
                    labels={LABEL_PLATFORM: PLATFORM_NAME},
                    options={"com.docker.network.bridge.enable_icc": "false"},
                    check_duplicate=True,
                )

    def _gateways(self, session_key: str | None = None) -> list[dict]:
        filters = {"label": [f"{LABEL_PLATFORM}={PLATFORM_NAME}", LABEL_GATEWAY]}
        if session_key is not None:
            filters["label"].append(f"{LABEL_SESSION}={session_key}")
        with engine_errors():
            return self._local.quick.containers(all=True, filters=filters)
