"""Each session's own network and the host guard.

Isolation of a session: its own bridge network, ``internal`` (Docker drops
forwarding in and out of it), with a bridge interface named ``lmsbr-...`` so
one host rule, ``iptables -I INPUT -i lmsbr+ -j DROP``, keeps containers away
from the host's own listeners (the bridge gateway is a host address), while
replies to connections the host opens (the web proxy) still pass."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress

from docker.types import IPAMConfig, IPAMPool

from lms.labs.runtime.base import (
    LabError,
    StartFailed,
)
from lms.labs.runtime.docker.common import (
    HOST_GUARD_RULES,
    SessionExists,
    bridge_name,
    engine_errors,
    log,
    network_name,
)


class NetworkMethods:
    """The DockerRuntime's networks methods (mixed into it)."""

    def _create_network(self, session_key: str, labels: dict) -> str:
        self._ensure_host_guard()
        options = {"com.docker.network.bridge.name": bridge_name(session_key)}
        for subnet in self._candidate_subnets(session_key):
            gateway = str(next(subnet.hosts()))
            ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=str(subnet), gateway=gateway)])
            try:
                with engine_errors(StartFailed, "creating the lab network"):
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
                    raise SessionExists() from exc
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
        with engine_errors():
            networks = self.api.networks()
        used = []
        for network in networks:
            for config in (network.get("IPAM") or {}).get("Config") or []:
                with suppress(ValueError, KeyError):
                    used.append(ipaddress.ip_network(config["Subnet"], strict=False))
        return used

    def _remove_network(self, network_id: str) -> None:
        for attempt in range(5):
            try:
                self._ignore_missing(self.api.remove_network, network_id)
                return
            except LabError:
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))  # endpoints still detaching

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


def _install_rules(iptables: str) -> None:
    """Insert each rule at the top of INPUT unless present (idempotent, survives restarts)."""
    for rule in HOST_GUARD_RULES:
        if subprocess.run([iptables, "-C", *rule], capture_output=True).returncode == 0:
            continue
        added = subprocess.run([iptables, "-I", *rule], capture_output=True, text=True)
        if added.returncode != 0:
            log.warning("could not add the lab host guard with %s: %s", iptables, added.stderr)
