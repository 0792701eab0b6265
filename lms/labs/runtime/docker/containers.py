"""A session's containers: creation, limits, and the secret files (flags) written into them."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import replace
from pathlib import PurePosixPath

import docker
import docker.errors
from docker.types import LogConfig

from lms.content.lab_model import ContainerSpec, LabSpec, Limits
from lms.labs.runtime.base import (
    LABEL_CONTAINER,
    SecretFile,
    StartFailed,
)
from lms.labs.runtime.docker.common import (
    SessionExists,
    container_name,
    engine_errors,
    network_name,
)
from lms.labs.runtime.docker.images import image_tag


class ContainerMethods:
    """The DockerRuntime's containers methods (mixed into it)."""

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
            with engine_errors(StartFailed, f"creating container {container.name}"):
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
                raise SessionExists() from exc
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
            with engine_errors(StartFailed, f"reading /etc/{name}"):
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
                with engine_errors(StartFailed, f"writing {secret.path}"):
                    self.api.put_archive(container_id, str(parent), archive)
                return
            except StartFailed as exc:
                if not isinstance(exc.__cause__, docker.errors.NotFound) or parent.parent == parent:
                    raise
                missing.insert(0, parent.name)
                parent = parent.parent


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
