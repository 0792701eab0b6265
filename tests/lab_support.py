"""Helpers for the lab-session tests (integration, unit, browser) and the lab benchmark.

Every test app gets its own session-key prefix (``LMS_LAB_SESSION_PREFIX``),
so its sweep removes its own containers and networks only, even when other
test runs share the engine.
"""

from __future__ import annotations

import http.client
import time
import uuid
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lms import create_app
from lms.extensions import db
from lms.labs.runtime import (
    LABEL_SESSION,
    CheckResult,
    LabHandle,
    LabNotFound,
    NodesFull,
    RunningLab,
    ShellClosed,
    ShellGone,
    WebEndpoint,
)
from tests.conftest import PASSWORD, ROOT, reset_schema, test_config

FIXTURE_LABS = ROOT / "tests" / "fixtures" / "labs"
LAB_COURSES = ROOT / "tests" / "fixtures" / "lab-courses"
LAB_MODULE_URL = "/courses/lab-course/tiny"
PREFIX_ROOT = "tlab-"


BACKENDS = ("docker", "swarm")


def lab_backend(request) -> str:
    """The backend (``LMS_LAB_BACKEND``) a test's app runs labs on: ``docker``, or the
    test's parameter (``ON_BOTH_BACKENDS``). A swarm needs the engine to be its manager
    (the fixture ``swarm_engine`` of tests/integration/conftest.py makes it one)."""
    backend = getattr(request, "param", "docker")
    if backend == "swarm":
        request.getfixturevalue("swarm_engine")
    return backend


# Parametrises a test over both backends through its ``backend`` fixture (lab_backend).
ON_BOTH_BACKENDS = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def wait_removed(docker_client, session_key: str, timeout: float = 60.0) -> tuple[list, list]:
    """The containers and networks of ``session_key`` still there once none is left, or
    after ``timeout``: a swarm removes a service's container after its task ended."""
    labels = {"label": [f"{LABEL_SESSION}={session_key}"]}
    deadline = time.monotonic() + timeout
    while True:
        containers = docker_client.containers.list(all=True, filters=labels)
        networks = docker_client.networks.list(filters=labels)
        if not (containers or networks) or time.monotonic() > deadline:
            return containers, networks
        time.sleep(0.2)


def new_prefix() -> str:
    return f"{PREFIX_ROOT}{uuid.uuid4().hex[:6]}-"


@contextmanager
def own_lab_prefix(app):
    """The app under a session-key prefix of its own; its labs are swept afterwards."""
    from lms.labs import app_runtime, workers

    previous = app.config.get("LMS_LAB_SESSION_PREFIX")
    prefix = app.config["LMS_LAB_SESSION_PREFIX"] = new_prefix()
    try:
        yield prefix
    finally:
        workers.wait_drained(app, 60)
        with app.app_context():
            app_runtime.lab_runtime().remove_orphans(set(), key_prefix=prefix)
        app.config["LMS_LAB_SESSION_PREFIX"] = previous


def make_lab_app(tmp_path: Path, **overrides):
    """An app on a fresh database with the fixture labs and the course that uses tiny-lab."""
    config = test_config(
        tmp_path,
        LMS_LABS_DIR=str(FIXTURE_LABS),
        LMS_COURSES_DIR=str(LAB_COURSES),
        LMS_LAB_SESSION_PREFIX=new_prefix(),
    )
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        reset_schema()
        from lms.catalog.services import sync_courses

        report = sync_courses(LAB_COURSES)
        assert not report.issues, report.issues
    return app


def close_lab_app(app) -> None:
    """Wait for the app's lab jobs (starts, stops), stop its lab worker, sweep its prefix,
    close the database."""
    from lms.labs import app_runtime, workers

    worker = app.extensions.get(workers.WORKER_KEY)
    if worker is not None:
        workers.wait_drained(app, 60)
        workers.stop_inline(app)
    with app.app_context():
        runtime = app.extensions.get(app_runtime.RUNTIME_KEY)
        if runtime is not None:
            with suppress(Exception):
                runtime.remove_orphans(set(), key_prefix=app.config["LMS_LAB_SESSION_PREFIX"])
        db.session.remove()
        db.engine.dispose()


def create_user(app, email: str, role: str = "trainee") -> tuple[int, str]:
    """A user and an API token for them: (user id, token)."""
    from lms.auth.services import create_user as create
    from lms.auth.services import issue_token

    with app.app_context():
        user = create(email, PASSWORD, role=role, name=email.split("@")[0])
        db.session.commit()
        return user.id, issue_token(user)


class ApiClient:
    """A test client that authenticates with a bearer token."""

    def __init__(self, app, token: str):
        self.client = app.test_client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, url: str):
        return self.client.get(url, headers=self.headers)

    def post(self, url: str, json: dict | None = None):
        return self.client.post(url, json=json or {}, headers=self.headers)

    def start(self, lab: str = "tiny-lab", module: int | None = None):
        return self.post(f"/api/v1/labs/{lab}/start", {"module": module} if module else {})

    def session(self, session_id: int) -> dict:
        response = self.get(f"/api/v1/labs/sessions/{session_id}")
        assert response.status_code == 200, response.json
        return response.json

    def wait_settled(self, session_id: int, timeout: float = 60.0) -> dict:
        """Poll until the session is no longer starting, like the panel does."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.session(session_id)
            if body["status"] != "starting" or time.monotonic() > deadline:
                return body
            time.sleep(0.05)


class FakeRuntime:
    """A LabRuntime in memory, for pure-logic tests (no engine).

    With ``nodes`` (node name -> its maximum of labs, None: no maximum) it plays a swarm:
    each lab goes to the node running fewest, ``node_usage`` answers per node, and a start
    when every node is full raises NodesFull."""

    def __init__(self, nodes: dict[str, int | None] | None = None):
        self.labs: dict[str, dict] = {}
        self.check_passes = False
        self.check_users: list[str] = []
        self.up = True
        self.nodes = nodes

    def ping(self) -> None:
        if not self.up:
            from lms.labs.runtime import EngineUnavailable

            raise EngineUnavailable("fake engine down")

    def start(self, session_key, spec, owner, secrets):
        self.ping()
        node = self._place()
        self.labs[session_key] = {
            "owner": owner,
            "lab": spec.slug,
            "secrets": secrets,
            "containers": tuple(spec.containers),
            "node": node,
        }
        return LabHandle(session_key, tuple(spec.containers), {n: node for n in spec.containers})

    def _place(self) -> str | None:
        if self.nodes is None:
            return None
        usage = {item["name"]: item for item in self.node_usage()}
        free = [
            n for n, item in usage.items() if item["max"] is None or item["running"] < item["max"]
        ]
        if not free:
            raise NodesFull("every lab node is full", tuple(usage))
        return min(free, key=lambda n: (usage[n]["running"], n))

    def node_usage(self) -> list[dict]:
        """Per node: its name, the labs it runs and its maximum (only with ``nodes``)."""
        running = [lab["node"] for lab in self.labs.values()]
        return [
            {"name": name, "running": running.count(name), "max": maximum}
            for name, maximum in sorted((self.nodes or {}).items())
        ]

    def write_files(self, session_key, secrets):
        lab = self.labs.get(session_key)
        if lab is None or any(s.container not in lab["containers"] for s in secrets):
            raise LabNotFound("no such lab or container")
        lab["secrets"] = [*lab["secrets"], *secrets]

    def stop(self, session_key):
        self.labs.pop(session_key, None)

    def is_running(self, session_key):
        return session_key in self.labs

    def run_check(self, session_key, container, command, timeout_seconds, user="0"):
        self.check_users.append(user)
        if session_key not in self.labs:
            raise LabNotFound("no such lab")
        return CheckResult(0 if self.check_passes else 1, "fake output", False)

    def list_running(self):
        return [
            RunningLab(
                key,
                lab["owner"],
                lab["lab"],
                lab["containers"],
                nodes=(lab["node"],) if lab["node"] else (),
            )
            for key, lab in sorted(self.labs.items())
        ]

    def session_keys(self, *, key_prefix=""):
        return {k for k in self.labs if k.startswith(key_prefix)}

    def remove_orphans(self, live_session_keys, *, key_prefix=""):
        orphans = [k for k in self.labs if k.startswith(key_prefix) and k not in live_session_keys]
        for key in orphans:
            self.stop(key)
        return orphans

    def web_endpoint(self, session_key, container, port):
        lab = self.labs.get(session_key)
        if lab is None or container not in lab["containers"]:
            raise LabNotFound("no such lab or container")
        return WebEndpoint("192.0.2.10", port)  # TEST-NET-1: nothing answers there

    def open_shell(self, session_key, container, user, workdir, cols, rows, *, name=None, pid=None):
        """An echoing shell; a held one (``name``) outlives its channel until ``end_shell``."""
        if session_key not in self.labs:
            raise LabNotFound("no such lab")
        held = self.labs[session_key].setdefault("shells", {})
        if pid is not None:
            if held.get(name) != pid:
                raise ShellGone(f"no held shell {name}")
            return FakeShell(self, session_key, name, pid, reattached=True)
        pid = 100 + len(held)
        if name:
            held[name] = pid
        return FakeShell(self, session_key, name, pid)

    def end_shell(self, session_key, container, user, name, pid):
        held = self.labs.get(session_key, {}).get("shells", {})
        if held.get(name) == pid:
            del held[name]


class FakeShell:
    """A ShellChannel of the FakeRuntime: what is sent comes back."""

    def __init__(self, runtime, session_key, name, pid, reattached=False):
        self._runtime, self._key, self.name, self.pid = runtime, session_key, name, pid
        self.held, self.reattached = name is not None, reattached
        self._output, self._closed = b"", False

    def recv(self, timeout=None):
        if self._closed:
            raise ShellClosed("closed")
        if not self._output:
            time.sleep(min(timeout or 0.05, 0.05))
        data, self._output = self._output, b""
        return data

    def send(self, data):
        if self._closed:
            raise ShellClosed("closed")
        self._output += data

    def resize(self, cols, rows):
        pass

    def close(self):
        if not self.held:
            self.end()
        self._closed = True

    def end(self):
        self._closed = True
        self._runtime.end_shell(self._key, "", None, self.name, self.pid)


def teach(app, instructor_email: str, *trainee_emails: str) -> None:
    """Put the trainees in a cohort the instructor teaches (staff see only their cohorts)."""
    from lms.auth.services import find_user_by_email
    from lms.centres.models import Centre, Cohort, CohortMember

    with app.app_context():
        centre = Centre(slug="lab-test-centre", name="Lab test centre")
        cohort = Cohort(centre=centre, name="Lab testers")
        cohort.instructors.append(find_user_by_email(instructor_email))
        db.session.add_all([centre, cohort])
        for email in trainee_emails:
            db.session.add(CohortMember(cohort=cohort, user=find_user_by_email(email)))
        db.session.commit()


def handshake_status(base: str, path: str, headers: dict) -> int:
    """Status of a WebSocket upgrade request (101: accepted)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.request(
        "GET",
        path,
        headers={
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            **headers,
        },
    )
    status = connection.getresponse().status
    connection.close()
    return status
