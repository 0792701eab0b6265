"""Lab images for a swarm: ``SwarmImageBuilder`` builds them on the manager's engine (the
Docker builder does), removes their setuid/setgid bits (Swarm services on Engine 20.10
cannot set no-new-privileges), and pushes them to a registry every node pulls from; without
a registry it checks that every lab node whose engine it can reach holds them.

``ImageChecks`` is what the runtime asks of images at start."""

from __future__ import annotations

import io

import docker.errors

from lms.content.lab_model import ContainerSpec, LabSpec
from lms.labs.runtime.base import (
    LABEL_LAB,
    LABEL_PLATFORM,
    PLATFORM_NAME,
    BuildFailed,
    ImageMissing,
    ProgressCallback,
)
from lms.labs.runtime.docker import DockerImageBuilder, image_tag
from lms.labs.runtime.docker.common import engine_errors
from lms.labs.runtime.swarm.common import LABEL_SETUID_STRIPPED, parse_node_engines
from lms.labs.runtime.swarm.engines import NodeEngine
from lms.labs.runtime.swarm.nodes import hostname, lab_nodes

# Remove every setuid and setgid bit of the image's own file system (busybox find too).
STRIP_DOCKERFILE = """\
FROM {tag}
USER 0
RUN find / -xdev -type f \\( -perm -4000 -o -perm -2000 \\) -exec chmod ug-s {{}} +
USER {user}
LABEL {label}=true
"""


def swarm_tag(registry: str | None, spec: LabSpec, container: ContainerSpec) -> str:
    """What a service runs: the platform's tag under the registry (when there is one), or
    the lab's named ``image:`` as it is."""
    tag = image_tag(spec, container)
    if registry and not container.image:
        return f"{registry.rstrip('/')}/{tag}"
    return tag


def strips_setuid(container: ContainerSpec) -> bool:
    """The platform removes setuid bits from the images it builds, unless the lab needs them."""
    return not container.image and not container.setuid


class SwarmImageBuilder:
    """An ``ImageBuilder`` for a swarm: build on ``docker_url``'s engine, strip setuid bits,
    push to ``registry`` (host:port or host:port/prefix)."""

    def __init__(
        self,
        docker_url: str | None = None,
        registry: str | None = None,
        node_engines: str | dict | None = None,
    ):
        self._local = DockerImageBuilder(docker_url=docker_url)
        self._registry = registry or None
        self._node_urls = parse_node_engines(node_engines)

    def image_tags(self, spec: LabSpec) -> dict[str, str]:
        return {name: swarm_tag(self._registry, spec, c) for name, c in spec.containers.items()}

    def build(
        self, spec: LabSpec, progress: ProgressCallback | None = None, force: bool = False
    ) -> dict[str, str]:
        say = progress or (lambda line: None)
        local = self._local.build(spec, say, force)
        for name, container in spec.containers.items():
            if strips_setuid(container):
                self._strip_setuid(local[name], say)
        if self._registry:
            for name, container in spec.containers.items():
                if not container.image:
                    self._push(local[name], swarm_tag(self._registry, spec, container), say)
        else:
            lacking = nodes_lacking(self._local.api, self._node_urls, set(local.values()))
            if lacking:
                raise ImageMissing(", ".join(sorted(local.values())), lacking_message(lacking))
        return self.image_tags(spec)

    def _strip_setuid(self, tag: str, say: ProgressCallback) -> None:
        image = self._local._image(tag)
        labels = (image or {}).get("Config", {}).get("Labels") or {}
        if image is None or labels.get(LABEL_SETUID_STRIPPED) == "true":
            return
        say(f"{tag}: removing setuid and setgid bits (the lab does not say setuid: true)")
        user = (image.get("Config") or {}).get("User") or "0"
        dockerfile = STRIP_DOCKERFILE.format(tag=tag, user=user, label=LABEL_SETUID_STRIPPED)
        with engine_errors(BuildFailed, f"removing setuid bits from {tag}"):
            stream = self._local.api.build(
                fileobj=io.BytesIO(dockerfile.encode()),
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
                network_mode="none",
                labels={LABEL_PLATFORM: PLATFORM_NAME, LABEL_LAB: labels.get(LABEL_LAB, "")},
            )
            for chunk in stream:
                if "error" in chunk:
                    raise BuildFailed(
                        f"removing setuid bits from {tag}: {chunk['error'].strip()} "
                        "(the image needs sh and find; a lab that needs its setuid "
                        "programs says `setuid: true`)"
                    )

    def _push(self, tag: str, target: str, say: ProgressCallback) -> None:
        repository, _, version = target.rpartition(":")
        say(f"pushing {target}")
        with engine_errors(BuildFailed, f"pushing {target}"):
            self._local.api.tag(tag, repository, version)
            for chunk in self._local.api.push(repository, tag=version, stream=True, decode=True):
                if "error" in chunk:
                    raise BuildFailed(f"pushing {target}: {chunk['error'].strip()}")


def nodes_lacking(manager, node_urls: dict[str, str], tags: set[str]) -> dict[str, list[str]]:
    """Lab node hostname -> the tags its engine lacks, for the nodes whose engine is known
    (the manager's own, and LMS_SWARM_NODE_ENGINES); an unreachable engine lacks all."""
    with engine_errors():
        nodes = manager.nodes()
        own = manager.info().get("Swarm", {}).get("NodeID")
    lacking: dict[str, list[str]] = {}
    for node in lab_nodes(nodes)[0]:
        name = hostname(node)
        if node["ID"] == own:
            api = manager
        elif name in node_urls:
            api = NodeEngine(node_urls[name], node=name).quick
        else:
            continue  # no engine to ask: a missing image shows when its task is rejected
        missing = [tag for tag in sorted(tags) if not _has_image(api, tag)]
        if missing:
            lacking[name] = missing
    return lacking


def _has_image(api, tag: str) -> bool:
    with engine_errors():
        try:
            api.inspect_image(tag)
        except docker.errors.ImageNotFound:
            return False
    return True


def lacking_message(lacking: dict[str, list[str]], slug: str | None = None) -> str:
    where = "; ".join(f"node {node} lacks {', '.join(tags)}" for node, tags in lacking.items())
    build = f"`lms labs build {slug}`" if slug else "`lms labs build`"
    return (
        f"{where}: build on every lab node, or set LMS_REGISTRY so that {build} pushes "
        "the images where every node pulls them"
    )
