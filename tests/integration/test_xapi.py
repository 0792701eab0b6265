"""xAPI statements reach a real learning record store: ralph's LRS server (ralph-malph),
started by the tests on a free port with its file-system backend and Basic credentials.

The trainee's events go through the platform (pages and the API; labs on the fake
runtime, no engine needed); the sender delivers the queued statements; the test reads
them back from the LRS's own /xAPI/statements."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import bcrypt
import httpx
import pytest
from sqlalchemy import func, select

from lms import create_app
from lms.catalog.models import Module
from lms.catalog.services import sync_courses
from lms.extensions import db
from lms.labs import app_runtime
from lms.labs.flags import flag_for
from lms.xapi import sender
from lms.xapi.models import QUEUED, REJECTED, SENT, XapiStatement
from tests.conftest import FIXTURE_COURSES, PASSWORD, ROOT, reset_schema, test_config
from tests.lab_support import (
    FIXTURE_LABS,
    ApiClient,
    FakeRuntime,
    close_lab_app,
    create_user,
    new_prefix,
    teach,
)

XAPI_COURSES = ROOT / "tests" / "fixtures" / "xapi-courses"
PLATFORM = "https://lms.example.org"
LRS_USER, LRS_PASSWORD = "lms", "lrs secret"
VERB = "http://adlnet.gov/expapi/verbs/"


# ralph 5.1's file-system LRS backend writes with operation INDEX, which refuses to write to
# its statements file once it exists: only the first POST would ever be stored (the next
# ones answer 500). An LRS appends; so does this one, else it is ralph's server as shipped.
# With "hold", it loads (seconds on a busy machine) but listens only once told on stdin.
RALPH_LAUNCHER = """
import sys
import uvicorn
from ralph.api import app
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend
FSLRSBackend.default_operation_type = BaseOperationType.APPEND
if sys.argv[3:] == ["hold"]:
    sys.stdin.readline()
uvicorn.run(app, host=sys.argv[1], port=int(sys.argv[2]), log_level="warning")
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RalphLrs:
    """ralph's LRS (FastAPI under uvicorn) as a subprocess, storing statements in files."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "data").mkdir(exist_ok=True)
        hashed = bcrypt.hashpw(LRS_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        account = {
            "agent": {"objectType": "Agent", "mbox": "mailto:lms@example.org"},
            "scopes": ["all"],
            "username": LRS_USER,
            "hash": hashed,
        }
        (folder / "auth.json").write_text(json.dumps([account]))

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def launch(self, hold: bool = False) -> None:
        """Start the server process; it takes a few seconds to listen (wait_ready). With
        ``hold`` it does not listen before ``listen()``: the LRS is down until then."""
        env = {
            **os.environ,
            "RALPH_APP_DIR": str(self.folder),
            "RALPH_AUTH_FILE": str(self.folder / "auth.json"),
            "RALPH_RUNSERVER_BACKEND": "fs",
            "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(self.folder / "data"),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-c", RALPH_LAUNCHER, "127.0.0.1", str(self.port)]
            + (["hold"] if hold else []),
            stdin=subprocess.PIPE,
            cwd=self.folder,  # ralph reads a .env of its working folder: none here
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(self.folder / "lrs.log").open("ab"),
        )

    def listen(self) -> None:
        self.process.stdin.write(b"listen\n")
        self.process.stdin.flush()
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 120  # a loaded machine imports FastAPI slowly
        while True:
            try:
                if httpx.get(f"{self.url}/__heartbeat__", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.folder / "lrs.log").read_text()
                pytest.fail(f"ralph's LRS did not start: {log[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def statements(self) -> list[dict]:
        response = httpx.get(
            f"{self.url}/xAPI/statements",
            params={"limit": 100},
            auth=(LRS_USER, LRS_PASSWORD),
            headers={"X-Experience-API-Version": "1.0.3"},
        )
        assert response.status_code == 200, response.text
        return response.json()["statements"]


@pytest.fixture
def lrs(tmp_path):
    server = RalphLrs(tmp_path / "lrs")
    yield server
    server.stop()


def xapi_settings(lrs: RalphLrs) -> dict:
    return {
        "LMS_XAPI_ENDPOINT": f"{lrs.url}/xAPI/",
        "LMS_XAPI_USERNAME": LRS_USER,
        "LMS_XAPI_PASSWORD": LRS_PASSWORD,
        "LMS_XAPI_PLATFORM_URL": PLATFORM,
    }


def login(app, email: str):
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302
    return client


def queued_rows(app) -> dict[str, int]:
    with app.app_context():
        counts = db.session.execute(
            select(XapiStatement.status, func.count()).group_by(XapiStatement.status)
        )
        return dict(counts.all())


def send(app, force: bool = False) -> sender.SendReport:
    with app.app_context():
        return sender.send_due(force=force)


# -- every learning event, through the platform, into the LRS ---------------------------------


@pytest.fixture
def lab_app(tmp_path, lrs):
    config = test_config(
        tmp_path,
        LMS_LABS_DIR=str(FIXTURE_LABS),
        LMS_COURSES_DIR=str(XAPI_COURSES),
        LMS_LAB_SESSION_PREFIX=new_prefix(),
        **xapi_settings(lrs),
    )
    app = create_app(config)
    app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    with app.app_context():
        reset_schema()
        report = sync_courses(XAPI_COURSES)
        assert not report.issues, report.issues
    yield app
    close_lab_app(app)


def test_every_learning_event_reaches_the_lrs(lab_app, lrs):
    app = lab_app
    lrs.launch()  # listening by the time the events are done
    user_id, token = create_user(app, "trainee@example.org")
    create_user(app, "teacher@example.org", role="instructor")
    teach(app, "teacher@example.org", "trainee@example.org")
    page = login(app, "trainee@example.org")
    api = ApiClient(app, token)
    module_url = "/courses/xapi-course/lab-and-quiz"

    assert page.get(module_url).status_code == 200
    assert page.post(f"{module_url}/quiz", data={"q0": "2"}).status_code == 200
    with app.app_context():
        module_id = db.session.scalar(select(Module.id).where(Module.slug == "lab-and-quiz"))
    started = api.start("tiny-lab", module=module_id)
    assert started.status_code == 202, started.json
    session_id = started.json["id"]
    assert api.wait_settled(session_id)["status"] == "running"
    assert api.post("/api/v1/labs/tiny-lab/hint", {"task": "read-flag"}).status_code == 200
    with app.app_context():
        flag = flag_for(user_id, "tiny-lab")
    answer = api.post(
        f"/api/v1/labs/sessions/{session_id}/flag", {"task": "read-flag", "flag": flag}
    )
    assert answer.json["correct"] is True
    app.extensions[app_runtime.RUNTIME_KEY].check_passes = True
    # The check runs on a lab worker, outside any request: its statement still names the
    # platform by LMS_XAPI_PLATFORM_URL.
    checked = api.post(f"/api/v1/labs/sessions/{session_id}/check", {"task": "make-done"})
    assert checked.json["passed"] is True
    assert page.post(f"{module_url}/complete").status_code == 302
    assert queued_rows(app) == {QUEUED: 8}  # queued with the events, nothing sent yet

    # A statement the LRS refuses on its own is recorded, not retried; the rest are stored.
    with app.app_context():
        broken = {"id": str(uuid.uuid4()), "actor": {"name": "no identifier"}, "verb": {}}
        db.session.add(XapiStatement(statement_id=broken["id"], statement_json=json.dumps(broken)))
        db.session.commit()
    lrs.wait_ready()
    report = send(app)
    assert (report.sent, report.rejected, report.deferred) == (8, 1, 0)
    assert queued_rows(app) == {SENT: 8, REJECTED: 1}
    assert send(app, force=True).sent == 0  # the rejected one is never sent again
    with app.app_context():
        status = sender.queue_status()
    assert status.rejected == 1 and "422" in status.last_error
    again = app.test_cli_runner().invoke(args=["xapi", "send", "--requeue-rejected"])
    assert "queued again: 1" in again.output and "sent 0, rejected 1" in again.output

    stored = lrs.statements()
    lab = f"{PLATFORM}/labs/tiny-lab"
    module = f"{PLATFORM}{module_url}"
    course = f"{PLATFORM}/courses/xapi-course"
    assert sorted((s["verb"]["id"], s["object"]["id"]) for s in stored) == sorted(
        [
            (VERB + "experienced", module),
            (VERB + "answered", f"{module}/quiz"),
            (VERB + "launched", lab),
            (VERB + "asked", f"{lab}/tasks/read-flag/hint"),
            (VERB + "completed", f"{lab}/tasks/read-flag"),
            (VERB + "completed", f"{lab}/tasks/make-done"),
            (VERB + "completed", module),
            (VERB + "completed", course),
        ]
    )
    for statement in stored:
        assert statement["actor"]["account"] == {"homePage": PLATFORM, "name": str(user_id)}
        assert statement["timestamp"].endswith("Z")
        grouping = [a["id"] for a in statement["context"]["contextActivities"]["grouping"]]
        assert any(g.startswith(f"{PLATFORM}/cohorts/") for g in grouping), statement
        assert f"{PLATFORM}/centres/lab-test-centre" in grouping
    by_object = {s["object"]["id"]: s for s in stored}
    quiz = by_object[f"{module}/quiz"]
    assert quiz["result"]["success"] is True
    assert quiz["result"]["score"]["scaled"] == 1.0
    assert quiz["context"]["contextActivities"]["parent"][0]["id"] == module
    flag_task = by_object[f"{lab}/tasks/read-flag"]
    assert flag_task["result"]["score"]["raw"] == 10
    assert flag_task["context"]["contextActivities"]["parent"][0]["id"] == lab
    assert by_object[lab]["context"]["contextActivities"]["parent"][0]["id"] == module
    assert by_object[course]["result"]["completion"] is True


# -- an LRS that is down loses nothing ----------------------------------------------------------


@pytest.fixture
def quiz_app(tmp_path, lrs):
    app = create_app(test_config(tmp_path, **xapi_settings(lrs)))
    with app.app_context():
        reset_schema()
        assert not sync_courses(FIXTURE_COURSES).issues
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_statements_wait_for_an_lrs_that_is_down(quiz_app, lrs):
    app = quiz_app
    lrs.launch(hold=True)  # loaded meanwhile, but down: nothing listens on its port
    user_id, _token = create_user(app, "trainee@example.org")
    page = login(app, "trainee@example.org")
    module_url = "/courses/demo-course/first-steps"
    assert page.get(module_url).status_code == 200
    answers = {"q0": "2", "q1": ["1", "2"]}
    assert page.post(f"{module_url}/quiz", data=answers).status_code == 200
    assert page.post(f"{module_url}/complete").status_code == 302

    report = send(app)  # nothing listens on the LRS's port yet
    assert (report.sent, report.deferred) == (0, 3)
    assert "could not be reached" in report.error
    assert send(app) == sender.SendReport()  # backing off: not tried again at once
    runner = app.test_cli_runner()
    status = runner.invoke(args=["xapi", "status"])
    assert "queued: 3" in status.output and "could not be reached" in status.output

    lrs.listen()
    flushed = runner.invoke(args=["xapi", "send"])
    assert flushed.exit_code == 0, flushed.output
    assert "sent 3, rejected 0, left queued 0" in flushed.output
    assert queued_rows(app) == {SENT: 3}
    stored = lrs.statements()
    module = f"{PLATFORM}{module_url}"
    assert sorted((s["verb"]["id"], s["object"]["id"]) for s in stored) == sorted(
        [
            (VERB + "experienced", module),
            (VERB + "answered", f"{module}/quiz"),
            (VERB + "completed", module),
        ]
    )
    assert {s["actor"]["account"]["name"] for s in stored} == {str(user_id)}

    # From now on the background sender (a thread of the serving process) delivers them.
    background = sender.start_in_process(app)
    try:
        assert page.get("/courses/demo-course/next-steps").status_code == 200
        deadline = time.monotonic() + 60
        while queued_rows(app).get(QUEUED) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert queued_rows(app) == {SENT: 4}
    finally:
        background.stop()
    assert (VERB + "experienced", f"{PLATFORM}/courses/demo-course/next-steps") in {
        (s["verb"]["id"], s["object"]["id"]) for s in lrs.statements()
    }


def test_no_statement_is_recorded_while_xapi_is_off(client, auth, make_user, courses):
    make_user("trainee@example.org")
    auth.login()
    assert client.get("/courses/demo-course/first-steps").status_code == 200
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(XapiStatement)) == 0
