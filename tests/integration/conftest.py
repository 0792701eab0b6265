"""Fixtures of the integration tests: the centres programme (``programme``,
``login_as``, see tests/programme.py), and Docker fixtures for the lab runtime
tests: a real engine, built images, and lab sessions that are always swept by
label, even when a test fails.

Every session key of a run starts with ``RUN_PREFIX`` (``test-`` and a random
part). The sweep removes this run's sessions, and ``test-`` sessions older than
``STALE_SECONDS`` (a crashed run), so labs of a platform, or of another test run
going on at the same time on the same engine, are left alone.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path

import docker  # noqa: E402
import pytest

from lms.content.lab_model import LabSpec
from lms.content.lab_parser import load_lab, load_labs
from lms.labs.runtime import (
    LABEL_CONTAINER,
    LABEL_PLATFORM,
    LABEL_SESSION,
    PLATFORM_NAME,
    SecretFile,
)
from tests.conftest import PASSWORD
from tests.programme import EMAILS, Programme, build_programme

ROOT = Path(__file__).resolve().parents[2]
LABS_DIR = ROOT / "labs"
TEST_PREFIX = "test-"
RUN_PREFIX = f"{TEST_PREFIX}{uuid.uuid4().hex[:6]}-"
STALE_SECONDS = 1800

PROBE_LAB = {
    "lab.yaml": """\
title: Runtime probe
limits: {memory: 64m, cpus: 0.25, pids: 64}
containers:
  main: {build: main, user: tester, workdir: /home/tester, capabilities: [NET_RAW]}
  peer: {build: peer, ports: [8000]}
flag: {container: main, path: /opt/secret/deep/flag.txt, mode: 0440, uid: 1000, gid: 1000}
tasks:
  - {id: flag, title: Read the flag, type: flag}
""",
    "main/Dockerfile": """\
FROM lms-base/debian:bookworm
RUN useradd --create-home --uid 1000 --shell /bin/bash tester
CMD ["/bin/bash"]
""",
    "peer/Dockerfile": """\
FROM lms-base/debian:bookworm
CMD ["python3", "-m", "http.server", "8000"]
""",
}


BUSYBOX_LAB = {
    "lab.yaml": "title: Busybox probe\nnetwork: none\nlimits: {memory: 32m, pids: 32}\n",
    "Dockerfile": "FROM lms-base/busybox:latest\n",
}


def new_key(label: str = "") -> str:
    return f"{RUN_PREFIX}{label}{uuid.uuid4().hex[:8]}"


def _sweepable(session_key: str, created: str | int) -> bool:
    """This run's sessions, and test sessions a crashed run left (by their age)."""
    if session_key.startswith(RUN_PREFIX):
        return True
    if not session_key.startswith(TEST_PREFIX):
        return False
    if isinstance(created, int):  # container lists give epoch seconds
        born = datetime.fromtimestamp(created, UTC)
    else:  # networks give an ISO date
        born = datetime.fromisoformat(created[:19]).replace(tzinfo=UTC)
    return (datetime.now(UTC) - born).total_seconds() > STALE_SECONDS


def sweep_test_labs(client) -> None:
    """Remove the platform services, containers, secrets and networks of sweepable test
    sessions (services and secrets when the engine is a swarm's manager)."""
    platform = {"label": [f"{LABEL_PLATFORM}={PLATFORM_NAME}"]}
    swarm = client.info().get("Swarm", {}).get("ControlAvailable")
    for service in client.api.services(filters=platform) if swarm else []:
        key = (service["Spec"].get("Labels") or {}).get(LABEL_SESSION, "")
        if _sweepable(key, service["CreatedAt"]):
            with suppress(docker.errors.NotFound, docker.errors.APIError):
                client.api.remove_service(service["ID"])
    # sparse: no inspect per container, which fails when another run removes one meanwhile
    for container in client.containers.list(all=True, filters=platform, sparse=True):
        labels = container.attrs.get("Labels") or {}
        if _sweepable(labels.get(LABEL_SESSION, ""), container.attrs["Created"]):
            with suppress(docker.errors.NotFound, docker.errors.APIError):
                container.remove(force=True, v=True)
    for secret in client.api.secrets(filters=platform) if swarm else []:
        key = (secret["Spec"].get("Labels") or {}).get(LABEL_SESSION, "")
        if _sweepable(key, secret["CreatedAt"]):
            with suppress(docker.errors.NotFound, docker.errors.APIError):
                client.api.remove_secret(secret["ID"])
    for network in client.networks.list(filters=platform):
        key = (network.attrs.get("Labels") or {}).get(LABEL_SESSION, "")
        if _sweepable(key, network.attrs["Created"]):
            with suppress(docker.errors.NotFound, docker.errors.APIError):
                network.remove()


def flag_secrets(spec: LabSpec, flag: str | None) -> list[SecretFile]:
    if spec.flag is None or flag is None:
        return []
    f = spec.flag
    return [SecretFile(f.container, f.path, flag.encode() + b"\n", f.mode, f.uid, f.gid)]


@pytest.fixture(scope="session")
def docker_runtime(docker_client):
    """The Docker LabRuntime; test sessions are swept before and after the run."""
    from lms.labs.runtime import get_runtime

    sweep_test_labs(docker_client)
    try:
        yield get_runtime()
    finally:
        sweep_test_labs(docker_client)


@pytest.fixture(scope="session")
def image_builder(docker_client):
    """The local engine's image builder (what `lms labs build` uses on one engine)."""
    from lms.labs.runtime import get_image_builder

    return get_image_builder()


@pytest.fixture(scope="session")
def shipped_labs(docker_runtime, image_builder) -> dict[str, LabSpec]:
    """The labs in labs/, validated and built once (skipped when their tag exists)."""
    labs, issues = load_labs(LABS_DIR)
    assert not issues, issues
    for spec in labs.values():
        image_builder.build(spec)
    return labs


def _build_lab(builder, tmp_path_factory, slug: str, files: dict[str, str]) -> LabSpec:
    folder = tmp_path_factory.mktemp("labs") / slug
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    spec = load_lab(folder)
    builder.build(spec)
    return spec


@pytest.fixture(scope="session")
def probe_lab(docker_runtime, image_builder, tmp_path_factory) -> LabSpec:
    """A two-container lab with small limits, a capability and a web port, built once."""
    return _build_lab(image_builder, tmp_path_factory, "runtime-probe", PROBE_LAB)


@pytest.fixture(scope="session")
def busybox_lab(docker_runtime, image_builder, tmp_path_factory) -> LabSpec:
    """One busybox container (a bare-shell image) with `network: none`."""
    return _build_lab(image_builder, tmp_path_factory, "busybox-probe", BUSYBOX_LAB)


@pytest.fixture(scope="session")
def swarm_engine(docker_client):
    """The test engine as a swarm's manager: `docker swarm init` when it is in no swarm
    (CI machines), and `docker swarm leave --force` at the end only if it was made here."""
    made = False
    if docker_client.info()["Swarm"]["LocalNodeState"] != "active":
        docker_client.swarm.init(advertise_addr="127.0.0.1")
        made = True
    try:
        yield docker_client
    finally:
        sweep_test_labs(docker_client)
        _remove_unused_gateway_network(docker_client)
        if made:
            docker_client.swarm.leave(force=True)


def _remove_unused_gateway_network(docker_client) -> None:
    """The swarm runtime's gateways bridge, which its first web access created, once no
    gateway uses it (a platform's own gateways on this engine keep it)."""
    from lms.labs.runtime.swarm.common import GATEWAY_NETWORK

    for network in docker_client.api.networks(names=[GATEWAY_NETWORK]):
        details = docker_client.api.inspect_network(network["Id"])
        if not details.get("Containers"):
            with suppress(docker.errors.NotFound, docker.errors.APIError):
                docker_client.api.remove_network(network["Id"])


@pytest.fixture(scope="session")
def swarm_runtime(swarm_engine, docker_runtime):
    """The Swarm LabRuntime on the test engine's single-node swarm (swept with the rest)."""
    from lms.labs.runtime import get_runtime

    return get_runtime(backend="swarm", allow_new_privileges=False)


@pytest.fixture(scope="session")
def swarm_probe_lab(swarm_engine, probe_lab) -> LabSpec:
    """The probe lab built for a swarm (its setuid bits removed; no registry)."""
    from lms.labs.runtime import get_image_builder

    get_image_builder(backend="swarm").build(probe_lab)
    return probe_lab


@pytest.fixture(scope="session")
def swarm_probe_session(swarm_runtime, swarm_probe_lab):
    """One running probe lab on the swarm, shared by the read-only tests of both modules."""
    key = new_key("swarm-")
    try:
        yield swarm_runtime.start(
            key, swarm_probe_lab, "trainee-probe", flag_secrets(swarm_probe_lab, "FLAG{probe}")
        )
    finally:
        swarm_runtime.stop(key)


def task_container(client, session_key: str, container: str) -> dict:
    """The inspected container of a session's lab container, found by its labels (a
    Docker container, or a swarm task's)."""
    labels = [f"{LABEL_SESSION}={session_key}", f"{LABEL_CONTAINER}={container}"]
    found = client.api.containers(filters={"label": labels})
    assert found, f"no running container {container} in {session_key}"
    return client.api.inspect_container(found[0]["Id"])


@pytest.fixture
def lab_session(docker_runtime):
    """start(spec, flag=None, key=None, owner=...) -> LabHandle; stopped after the test."""
    started: list[str] = []

    def start(
        spec: LabSpec, flag: str | None = None, key: str | None = None, owner: str = "trainee-1"
    ):
        key = key or new_key()
        started.append(key)
        return docker_runtime.start(key, spec, owner, flag_secrets(spec, flag))

    try:
        yield start
    finally:
        for key in started:
            with suppress(Exception):
                docker_runtime.stop(key)


@pytest.fixture(scope="module")
def probe_session(docker_runtime, probe_lab):
    """One running probe lab shared by a module's read-only tests."""
    key = new_key("probe-")
    try:
        yield docker_runtime.start(
            key, probe_lab, "trainee-probe", flag_secrets(probe_lab, "FLAG{probe}")
        )
    finally:
        docker_runtime.stop(key)


@pytest.fixture
def lab_exec(docker_client):
    """lab_exec(session_key, container, command, user) -> (exit code, output), as that user."""

    def run(session_key: str, container: str, command: str, user: str = "trainee"):
        labels = [f"{LABEL_SESSION}={session_key}", f"{LABEL_CONTAINER}={container}"]
        found = docker_client.containers.list(filters={"label": labels})
        assert found, f"no running container {container} in {session_key}"
        result = found[0].exec_run(["sh", "-c", command], user=user)
        return result.exit_code, result.output.decode("utf-8", "replace")

    return run


# -- the centres programme -----------------------------------------------------------


@pytest.fixture
def programme(app, courses) -> Programme:
    with app.app_context():
        return build_programme()


@pytest.fixture
def login_as(client, programme):
    """login_as(key): sign the test client in as one of the programme's people."""

    def _login(key: str):
        client.post("/logout")
        response = client.post("/login", data={"email": EMAILS[key], "password": PASSWORD})
        assert response.status_code == 302, f"could not sign in as {key}"
        return programme.users[key]

    return _login
