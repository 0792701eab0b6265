"""Where each lab runs and each node's capacity, on a runtime that plays a swarm of two
nodes (tests/lab_support.FakeRuntime with nodes): the node recorded for a session and
shown by `lms labs ls` and the admin labs page, each node's labs and maximum, and a start
refused with the platform's capacity message when every node is full, whether the last
sweep already knew it (409 at once) or the runtime finds it (the start fails cleanly).

On real engines, the node recorded for a start and a pool claim is tested in
test_lab_sessions.py and test_lab_pools.py on both backends (docker: "local"; swarm: the
node of the task)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs import app_runtime, services
from lms.labs.errors import PLATFORM_FULL_MESSAGE
from lms.labs.models import LabSession
from lms.labs.reaper import reap
from tests.conftest import PASSWORD
from tests.lab_support import ApiClient, FakeRuntime, close_lab_app, create_user, make_lab_app


@pytest.fixture
def app(tmp_path):
    app = make_lab_app(tmp_path, LMS_MAX_LABS_PER_USER=1, LMS_MAX_LABS_TOTAL=10)
    app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime(nodes={"node-a": 1, "node-b": 1})
    yield app
    close_lab_app(app)


def trainee(app, email: str) -> ApiClient:
    return ApiClient(app, create_user(app, email)[1])


def admin_page(app) -> str:
    create_user(app, "root@example.org", role="platform_admin")
    admin = app.test_client()
    admin.post("/login", data={"email": "root@example.org", "password": PASSWORD})
    return admin.get("/labs/admin").get_data(as_text=True)


def sweep(app) -> None:
    with app.app_context():
        reap()  # a lab worker's pass: it records the engine's labs and nodes


def start_running(api: ApiClient) -> dict:
    response = api.start("tiny-lab")
    assert response.status_code == 202, response.json
    body = api.wait_settled(response.json["id"])
    assert body["status"] == "running", body
    return body


def test_each_lab_shows_its_node_and_each_node_its_labs_and_maximum(app):
    body = start_running(trainee(app, "ada@example.org"))
    with app.app_context():
        assert db.session.get(LabSession, body["id"]).node == "node-a"  # the runtime's choice

    listed = app.test_cli_runner().invoke(args=["labs", "ls"])
    assert listed.exit_code == 0, listed.output
    header, line = listed.output.splitlines()[1:3]
    assert "NODE" in header and "node-a" in line and "ada@example.org" in line
    assert "node node-a: 1 lab(s) running, of 1 (full)" in listed.output
    assert "node node-b: 0 lab(s) running, of 1\n" in listed.output

    sweep(app)
    page = admin_page(app)
    session_row = page.split(f'id="lab-session-{body["id"]}"')[1].split("</tr>")[0]
    assert '<td class="lab-node">node-a</td>' in session_row
    nodes = page.split('id="lab-nodes"')[1].split("</table>")[0]
    node_a, node_b = nodes.split("node-a")[1].split("node-b")
    assert "full" in node_a and "full" not in node_b


def test_with_every_node_full_a_start_is_refused_like_a_full_platform(app):
    start_running(trainee(app, "ada@example.org"))
    start_running(trainee(app, "bob@example.org"))
    sweep(app)  # the lab workers now know both nodes are at their maximum

    carol = trainee(app, "carol@example.org")
    refused = carol.start()
    assert refused.status_code == 409
    assert refused.json == {"error": "capacity", "message": PLATFORM_FULL_MESSAGE}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LabSession)) == 2


def test_a_start_the_runtime_finds_no_node_for_fails_with_the_capacity_message(app):
    """Before any sweep the platform does not know the nodes are full: the lab worker's
    start is refused by the runtime, and the trainee's session ends failed, nothing left."""
    start_running(trainee(app, "ada@example.org"))
    start_running(trainee(app, "bob@example.org"))

    carol = trainee(app, "carol@example.org")
    response = carol.start()
    assert response.status_code == 202
    failed = carol.wait_settled(response.json["id"])
    assert (failed["status"], failed["error"]) == ("failed", PLATFORM_FULL_MESSAGE)
    assert failed["end_reason"] == "capacity"
    fake = app.extensions[app_runtime.RUNTIME_KEY]
    with app.app_context():
        key = db.session.get(LabSession, response.json["id"]).key
    assert key not in fake.labs and len(fake.labs) == 2

    # A place frees: the next start runs on it.
    fake.stop(next(iter(fake.labs)))
    again = carol.start()
    assert again.status_code == 202
    assert carol.wait_settled(again.json["id"])["status"] == "running"


def test_an_interrupted_start_found_running_gets_its_node(app):
    """A start whose process died after the runtime started the lab: the reaper marks it
    running, with the node the engine lists it on."""
    user_id, _ = create_user(app, "dan@example.org")
    fake = app.extensions[app_runtime.RUNTIME_KEY]
    with app.app_context():
        spec = services.require_spec("tiny-lab")
        long_ago = utcnow() - timedelta(minutes=2)
        session = LabSession(
            key=services.new_session_key(),
            user_id=user_id,
            lab_slug="tiny-lab",
            status="starting",
            created_at=long_ago,
            expires_at=long_ago + timedelta(minutes=5),
            lease_until=long_ago,  # lapsed, and no job: its process died
        )
        db.session.add(session)
        db.session.commit()
        fake.start(session.key, spec, str(user_id), [])
        report = reap()
        db.session.refresh(session)
        assert report.resumed == [session.key]
        assert (session.status, session.node) == ("running", fake.labs[session.key]["node"])
