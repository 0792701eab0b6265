"""Lab images: tags from the lab's content hash; ``DockerImageBuilder`` builds and pulls them
on one engine; ``ImageMethods`` is what the runtime itself asks of images (is it there, what
does it run)."""

from __future__ import annotations

from pathlib import PurePosixPath

import docker
import docker.errors

from lms.content.lab_model import ContainerSpec, LabSpec
from lms.labs.runtime.base import (
    LABEL_LAB,
    LABEL_PLATFORM,
    PLATFORM_NAME,
    BuildFailed,
    ProgressCallback,
)
from lms.labs.runtime.docker.common import (
    API_TIMEOUT,
    IMAGE_REPO,
    SHELLS,
    engine_errors,
)


class ImageMethods:
    """The DockerRuntime's images methods (mixed into it)."""

    def _image(self, tag: str) -> dict | None:
        with engine_errors():
            try:
                return self.api.inspect_image(tag)
            except docker.errors.ImageNotFound:
                return None


class DockerImageBuilder(ImageMethods):
    """An ``ImageBuilder`` on one Docker engine: builds lab images there (the engine that
    runs the labs, or the one that builds for a registry)."""

    def __init__(self, docker_url: str | None = None, timeout: float = API_TIMEOUT):
        self._url = docker_url
        self._timeout = timeout
        self._api: docker.APIClient | None = None

    @property
    def api(self) -> docker.APIClient:
        if self._api is None:
            options = {"base_url": self._url} if self._url else docker.utils.kwargs_from_env()
            with engine_errors():
                self._api = docker.APIClient(version="auto", timeout=self._timeout, **options)
        return self._api

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
        with engine_errors(BuildFailed, f"building {tag}"):
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
        with engine_errors(BuildFailed, f"pulling {image}"):
            self.api.pull(image)


def image_tag(spec: LabSpec, container: ContainerSpec) -> str:
    """``lms-lab/<slug>-<container>:<content hash[:12]>``, or the lab's named image."""
    if container.image:
        return container.image
    return f"{IMAGE_REPO}/{spec.slug}-{container.name}:{spec.content_hash[:12]}"


def runs_bare_shell(image: dict) -> bool:
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
