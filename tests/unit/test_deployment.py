"""The deployment files: compose.yaml (web, lab workers, PostgreSQL, optional Redis; the
engine's socket only where it is needed), the Dockerfile, and gunicorn.conf.py's default
of several workers. Structural checks, plus `docker-compose config` when it is installed
(the full start-up is not part of the suite)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import ROOT

SOCKET = "/var/run/docker.sock"
DOCS = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
COMPOSE_ENV = {"LMS_SECRET_KEY": "k" * 64, "LMS_DB_PASSWORD": "p" * 32, "DOCKER_GID": "999"}


def mounts(service: str) -> list[str]:
    return [str(volume) for volume in SERVICES[service].get("volumes", [])]


def command(service: str) -> str:
    value = SERVICES[service].get("command", "")
    return value if isinstance(value, str) else " ".join(value)


def test_the_services_of_a_centre():
    assert set(SERVICES) == {"db", "redis", "init", "web", "worker"}
    assert SERVICES["redis"]["profiles"] == ["redis"]  # optional
    assert "gunicorn" in command("web") and "gunicorn.conf.py" in command("web")
    assert "lms labs worker" in command("worker")
    assert "lms init" in command("init")
    # The web tier only queues engine work; the worker service runs it.
    assert SERVICES["web"]["environment"]["LMS_LAB_WORKER"] == "external"
    for name in ("web", "worker"):
        assert SERVICES[name]["depends_on"]["init"]["condition"] == (
            "service_completed_successfully"
        )


def test_only_the_web_tier_and_the_lab_worker_get_the_engine_socket():
    with_socket = {name for name in SERVICES if any(SOCKET in m for m in mounts(name))}
    assert with_socket == {"web", "worker"}
    with_group = {name for name in SERVICES if SERVICES[name].get("group_add")}
    assert with_group == {"web", "worker"}
    assert not any(SERVICES[name].get("privileged") for name in SERVICES)


def test_web_and_workers_share_the_instance_folder_and_the_recordings():
    for name in ("web", "worker"):
        assert "instance:/app/instance" in mounts(name)
        assert "recordings:/app/recordings" in mounts(name)
        assert SERVICES[name]["environment"]["LMS_RECORDINGS_DIR"] == "/app/recordings"
    assert {"db", "instance", "recordings"} <= set(COMPOSE["volumes"])


def test_every_long_running_service_has_a_healthcheck():
    for name, service in SERVICES.items():
        if name != "init":  # runs once and exits
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


def test_every_setting_compose_reads_is_documented():
    interpolated = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", COMPOSE_TEXT))
    environment = {
        key
        for service in SERVICES.values()
        for key in (service.get("environment") or {})
        if key.startswith("LMS_")
    }
    undocumented = sorted(name for name in interpolated | environment if f"`{name}`" not in DOCS)
    assert not undocumented, f"describe them in docs/configuration.md: {undocumented}"


def test_the_image_runs_unprivileged_on_a_base_that_needs_no_registry():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG BASE_IMAGE=lms-base/debian:bookworm" in dockerfile
    assert re.search(r"^USER lms$", dockerfile, flags=re.MULTILINE)
    assert '"/app/recordings"' in dockerfile and "build-session-holder.sh" in dockerfile


WORKERS_SCRIPT = """
import json, os, runpy, sys
found = []
for value in json.loads(sys.argv[1]):
    os.environ.pop("LMS_WORKERS", None)
    if value is not None:
        os.environ["LMS_WORKERS"] = value
    found.append(runpy.run_path("gunicorn.conf.py")["workers"])
print(json.dumps(found))
"""


def gunicorn_workers(*settings: str | None) -> list[int]:
    """``workers`` as gunicorn.conf.py sets it for each LMS_WORKERS (None: not set), read
    in a process of its own: the file patches the standard library for gevent."""
    result = subprocess.run(
        [sys.executable, "-c", WORKERS_SCRIPT, json.dumps(settings)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_gunicorn_runs_several_workers_unless_told_otherwise():
    default = max(2, os.cpu_count() or 1)
    # Not set, set, and empty (compose passes an empty default).
    assert gunicorn_workers(None, "3", "") == [default, 3, default]


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


def test_docker_compose_accepts_the_file():
    tool = compose_command()
    if tool is None:
        pytest.skip("neither docker-compose nor `docker compose` is installed")
    for profile in ([], ["--profile", "redis"]):
        result = subprocess.run(
            [*tool, "-f", str(ROOT / "compose.yaml"), *profile, "config"],
            cwd=ROOT,
            env={**os.environ, **COMPOSE_ENV},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        resolved = yaml.safe_load(result.stdout)
        assert {"web", "worker", "db"} <= set(resolved["services"])
    # Without the secret key it refuses to start, and says so.
    missing = subprocess.run(
        [*tool, "-f", str(ROOT / "compose.yaml"), "config"],
        cwd=ROOT,
        env={**os.environ, **COMPOSE_ENV, "LMS_SECRET_KEY": ""},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert missing.returncode != 0 and "LMS_SECRET_KEY" in missing.stderr + missing.stdout
