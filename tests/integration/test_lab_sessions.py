"""Lab sessions on the real Docker engine, through the API, the pages, the reaper and the CLI.

Uses tests/fixtures/labs/tiny-lab (busybox: builds and starts in well under a
second). Each test's app has its own session-key prefix; its containers and
networks are swept by that prefix when the test ends, failed or not. Tests marked
``ON_BOTH_BACKENDS`` run twice: on one engine (``docker``) and as services of the
engine's Docker Swarm (``swarm``), where the platform must behave the same.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.auth.models import utcnow
from lms.content.lab_parser import load_lab
from lms.extensions import db
from lms.labs import app_runtime, services, workers
from lms.labs.errors import IMAGE_MISSING_MESSAGE, UNAVAILABLE_MESSAGE
from lms.labs.flags import flag_for
from lms.labs.models import FlagShare, LabSession, TaskCompletion
from lms.labs.reaper import reap, reconcile
from lms.labs.runtime import LABEL_PLATFORM, LABEL_SESSION, PLATFORM_NAME
from tests.conftest import PASSWORD
from tests.lab_support import (
    FIXTURE_LABS,
    LAB_MODULE_URL,
    ON_BOTH_BACKENDS,
    PREFIX_ROOT,
    ApiClient,
    close_lab_app,
    create_user,
    lab_backend,
    make_lab_app,
    teach,
    wait_removed,
)

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def tiny_image(docker_client):
    """tiny-lab and second-lab built once (skipped when their content tags exist)."""
    from lms.labs.runtime import get_image_builder

    builder = get_image_builder()
    for slug in ("tiny-lab", "second-lab"):
        builder.build(load_lab(FIXTURE_LABS / slug))
    yield
    _sweep_all(docker_client)


def _sweep_all(client) -> None:
    """Whatever any of these tests left behind (a crashed run), by label and prefix."""
    from docker.errors import APIError

    platform = {"label": [f"{LABEL_PLATFORM}={PLATFORM_NAME}"]}
    for found in (*client.services.list(filters=platform), *client.secrets.list(filters=platform)):
        if (found.attrs["Spec"].get("Labels") or {}).get(LABEL_SESSION, "").startswith(PREFIX_ROOT):
            with suppress(APIError):
                found.remove()
    for container in client.containers.list(all=True, filters=platform):
        if container.labels.get(LABEL_SESSION, "").startswith(PREFIX_ROOT):
            with suppress(APIError):  # gone, or its removal already in progress
                container.remove(force=True, v=True)
    for network in client.networks.list(filters=platform):
        if (network.attrs.get("Labels") or {}).get(LABEL_SESSION, "").startswith(PREFIX_ROOT):
            with suppress(APIError):
                network.remove()


@pytest.fixture
def backend(request, tiny_image):
    """docker, or the test's parameter; on a swarm the images are built for it."""
    backend = lab_backend(request)
    if backend == "swarm":
        from lms.labs.runtime import get_image_builder

        builder = get_image_builder(backend="swarm")  # skipped when built already
        for slug in ("tiny-lab", "second-lab"):
            builder.build(load_lab(FIXTURE_LABS / slug))
    return backend


@pytest.fixture
def app(tmp_path, backend):
    app = make_lab_app(
        tmp_path, LMS_MAX_LABS_PER_USER=1, LMS_MAX_LABS_TOTAL=10, LMS_LAB_BACKEND=backend
    )
    yield app
    close_lab_app(app)


@pytest.fixture
def alice(app):
    user_id, token = create_user(app, "alice@example.org")
    return user_id, ApiClient(app, token)


@pytest.fixture
def bob(app):
    user_id, token = create_user(app, "bob@example.org")
    return user_id, ApiClient(app, token)


def containers_of(client, key: str, all_states: bool = True):
    return client.containers.list(all=all_states, filters={"label": [f"{LABEL_SESSION}={key}"]})


def networks_of(client, key: str):
    return client.networks.list(filters={"label": [f"{LABEL_SESSION}={key}"]})


def session_row(app, session_id: int) -> LabSession:
    with app.app_context():
        session = db.session.get(LabSession, session_id)
        db.session.expunge(session)
        return session


def start_running(api: ApiClient, lab: str = "tiny-lab") -> dict:
    response = api.start(lab)
    assert response.status_code == 202, response.json
    body = api.wait_settled(response.json["id"])
    assert body["status"] == "running", body
    return body


# -- start ----------------------------------------------------------------------------------


def test_start_answers_at_once_then_runs(app, alice, docker_client):
    user_id, api = alice
    response = api.start("tiny-lab")
    assert response.status_code == 202
    assert response.json["status"] == "starting"
    assert set(response.json) >= {"id", "status", "expires_at"}

    body = api.wait_settled(response.json["id"])
    assert body["status"] == "running"
    assert 280 <= body["seconds_left"] <= 300
    assert [t["id"] for t in body["tasks"]] == ["read-flag", "make-done"]
    assert not any(t["done"] for t in body["tasks"])

    key = session_row(app, body["id"]).key
    [container] = containers_of(docker_client, key, all_states=False)
    flag = container.exec_run(["cat", "/root/flag.txt"]).output.decode().strip()
    with app.app_context():
        assert flag == flag_for(user_id, "tiny-lab")
    env = container.attrs["Config"]["Env"] or []
    assert not any(flag in item for item in env), "the flag must not be in the environment"


def test_double_start_gives_one_session_and_one_lab(app, alice, docker_client):
    _, api = alice
    barrier = threading.Barrier(4)
    answers = []

    def click():
        client = ApiClient(app, api.headers["Authorization"].split()[1])
        barrier.wait()
        answers.append(client.start("tiny-lab"))

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in answers} <= {200, 202}
    ids = {r.json["id"] for r in answers}
    assert len(ids) == 1
    assert sum(1 for r in answers if r.json["created"]) == 1
    api.wait_settled(ids.pop())
    with app.app_context():
        rows = db.session.scalars(select(LabSession)).all()
        workers.wait_drained(app)
    assert len(rows) == 1
    assert len(containers_of(docker_client, rows[0].key)) == 1


def test_per_trainee_limit_gives_a_clear_409(app, alice):
    _, api = alice
    start_running(api, "tiny-lab")
    response = api.start("second-lab")
    assert response.status_code == 409
    assert response.json["error"] == "capacity"
    assert "Tiny test lab" in response.json["message"]
    assert "Stop it before starting another" in response.json["message"]


def test_platform_total_gives_a_clear_409(app, alice, bob):
    app.config["LMS_MAX_LABS_TOTAL"] = 1
    start_running(alice[1])
    response = bob[1].start("tiny-lab")
    assert response.status_code == 409
    assert "All lab places" in response.json["message"]


def test_image_missing_fails_cleanly_and_tells_admins(app, alice, docker_client, caplog):
    _, api = alice
    with caplog.at_level(logging.ERROR):
        response = api.start("unbuilt-lab")
        body = api.wait_settled(response.json["id"])
    assert body["status"] == "failed"
    assert body["error"] == IMAGE_MISSING_MESSAGE
    assert "lms labs build unbuilt-lab" in caplog.text
    key = session_row(app, body["id"]).key
    assert containers_of(docker_client, key) == []
    assert networks_of(docker_client, key) == []
    # A failed start leaves nothing that blocks the next one.
    assert api.start("tiny-lab").status_code == 202


# -- grading --------------------------------------------------------------------------------


def test_flags_are_per_trainee_and_a_copied_flag_is_a_share(app, alice, bob, docker_client):
    alice_id, alice_api = alice
    bob_id, bob_api = bob
    a = start_running(alice_api)
    b = start_running(bob_api)

    flags = {}
    for body in (a, b):
        key = session_row(app, body["id"]).key
        [container] = containers_of(docker_client, key, all_states=False)
        flags[body["id"]] = container.exec_run(["cat", "/root/flag.txt"]).output.decode().strip()
    assert flags[a["id"]] != flags[b["id"]]
    assert flags[a["id"]].startswith("FLAG{") and len(flags[a["id"]]) == 38

    wrong = alice_api.post(
        f"/api/v1/labs/sessions/{a['id']}/flag", {"task": "read-flag", "flag": "FLAG{0123}"}
    )
    assert wrong.status_code == 200 and wrong.json["correct"] is False

    copied = alice_api.post(
        f"/api/v1/labs/sessions/{a['id']}/flag", {"task": "read-flag", "flag": flags[b["id"]]}
    )
    assert copied.json["correct"] is False
    assert "another trainee" in copied.json["message"]
    with app.app_context():
        [share] = db.session.scalars(select(FlagShare)).all()
        assert (share.submitter_id, share.owner_id, share.lab_slug) == (
            alice_id,
            bob_id,
            "tiny-lab",
        )

    right = alice_api.post(
        f"/api/v1/labs/sessions/{a['id']}/flag", {"task": "read-flag", "flag": flags[a["id"]]}
    )
    assert right.json["correct"] is True
    assert right.json["task"]["done"] is True
    assert alice_api.session(a["id"])["tasks"][0]["done"] is True
    assert bob_api.session(b["id"])["tasks"][0]["done"] is False


@ON_BOTH_BACKENDS
def test_check_task_fails_then_passes_and_completes_the_module(
    app, alice, client, backend, docker_client
):
    user_id, api = alice
    module_id = _module_id(app)
    response = api.start("tiny-lab", module=module_id)
    body = api.wait_settled(response.json["id"])
    # Where it runs: the one engine (its local socket), or the swarm node of its task.
    node = "local" if backend == "docker" else docker_client.info()["Name"]
    assert (body["status"], session_row(app, body["id"]).node) == ("running", node)
    url = f"/api/v1/labs/sessions/{body['id']}/check"

    failed = api.post(url, {"task": "make-done"})
    assert failed.status_code == 200
    assert failed.json == {**failed.json, "passed": False}
    assert "no /tmp/done yet" in failed.json["output"]

    key = session_row(app, body["id"]).key
    [container] = containers_of(docker_client, key, all_states=False)
    assert container.exec_run(["touch", "/tmp/done"]).exit_code == 0
    passed = api.post(url, {"task": "make-done"})
    assert passed.json["passed"] is True and passed.json["task"]["done"] is True

    # The module is complete only once every lab task is done.
    client.post("/login", data={"email": "alice@example.org", "password": PASSWORD})
    complete = f"{LAB_MODULE_URL}/complete"
    client.post(complete)
    page = client.get(LAB_MODULE_URL).get_data(as_text=True)
    assert "complete the lab tasks (1 of 2 left)" in page
    with app.app_context():
        flag = flag_for(user_id, "tiny-lab")
    assert api.post(
        f"/api/v1/labs/sessions/{body['id']}/flag", {"task": "read-flag", "flag": flag}
    ).json["correct"]
    client.post(complete)
    assert 'id="module-done"' in client.get(LAB_MODULE_URL).get_data(as_text=True)


def _module_id(app) -> int:
    from lms.catalog.models import Module

    with app.app_context():
        return db.session.scalar(select(Module.id).where(Module.lab_slug == "tiny-lab"))


# -- stop, restart, extend ------------------------------------------------------------------


@ON_BOTH_BACKENDS
def test_stop_restart_extend(app, alice, docker_client):
    _, api = alice
    body = start_running(api)
    first_key = session_row(app, body["id"]).key

    extended = api.post(f"/api/v1/labs/sessions/{body['id']}/extend")
    assert extended.status_code == 200
    assert extended.json["seconds_left"] > 500  # 5 more minutes
    # max_minutes 12 from the start: the next 5 reach the cap, then it refuses.
    assert api.post(f"/api/v1/labs/sessions/{body['id']}/extend").status_code == 200
    refused = api.post(f"/api/v1/labs/sessions/{body['id']}/extend")
    assert refused.status_code == 409 and "maximum" in refused.json["message"]

    restarted = api.post(f"/api/v1/labs/sessions/{body['id']}/restart")
    assert restarted.status_code == 202
    fresh = api.wait_settled(restarted.json["id"])
    assert fresh["status"] == "running" and fresh["id"] != body["id"]
    old = api.session(body["id"])
    assert (old["status"], old["end_reason"]) == ("stopped", "restarted")

    stopped = api.post(f"/api/v1/labs/sessions/{fresh['id']}/stop")
    assert stopped.json["status"] == "stopped"
    with app.app_context():
        workers.wait_drained(app)
        fresh_key = db.session.get(LabSession, fresh["id"]).key
    assert wait_removed(docker_client, first_key) == ([], [])
    assert wait_removed(docker_client, fresh_key) == ([], [])
    with app.app_context():  # nothing else either (a swarm's services and secrets)
        assert app_runtime.lab_runtime().session_keys(key_prefix=services.key_prefix()) == set()


def test_only_the_owner_acts_and_staff_may_read(app, alice, bob):
    _, alice_api = alice
    _, bob_api = bob
    body = start_running(alice_api)
    base = f"/api/v1/labs/sessions/{body['id']}"
    assert bob_api.get(base).status_code == 404
    for action, payload in (
        ("/flag", {"task": "read-flag", "flag": "FLAG{x}"}),
        ("/check", {"task": "make-done"}),
        ("/stop", {}),
        ("/extend", {}),
    ):
        response = bob_api.post(base + action, payload)
        assert response.status_code == 404, action
        assert response.is_json
    _, token = create_user(app, "teacher@example.org", role="instructor")
    teacher = ApiClient(app, token)
    assert teacher.get(base).status_code == 404  # not their trainee
    teach(app, "teacher@example.org", "alice@example.org")
    assert teacher.get(base).status_code == 200
    assert teacher.post(base + "/stop").status_code == 404
    assert alice_api.session(body["id"])["status"] == "running"


# -- reaper and reconcile -------------------------------------------------------------------


def test_reaper_stops_an_expired_lab(app, alice, docker_client):
    _, api = alice
    body = start_running(api)
    with app.app_context():
        session = db.session.get(LabSession, body["id"])
        session.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        key = session.key
        report = reap()
    assert report.expired == [key]
    after = api.session(body["id"])
    assert (after["status"], after["end_reason"]) == ("stopped", "expired")
    assert containers_of(docker_client, key) == []
    assert networks_of(docker_client, key) == []


@ON_BOTH_BACKENDS
def test_reconcile_removes_orphans_and_marks_vanished(app, alice, bob, backend, docker_client):
    _, alice_api = alice
    _, bob_api = bob
    orphan = start_running(alice_api)
    vanishing = start_running(bob_api)
    with app.app_context():
        orphan_row = db.session.get(LabSession, orphan["id"])
        orphan_key = orphan_row.key
        db.session.delete(orphan_row)  # as if the platform lost track of it
        db.session.commit()
        vanish_key = db.session.get(LabSession, vanishing["id"]).key
    for container in containers_of(docker_client, vanish_key):
        container.remove(force=True)  # as if the engine restarted without it

    # Another platform's lab on the same engine (another key prefix) is left alone.
    from lms.labs.runtime import get_runtime

    spec = load_lab(FIXTURE_LABS / "tiny-lab")
    foreign_key = f"{PREFIX_ROOT}foreign-{orphan_key[-8:]}"
    foreign = get_runtime(backend=backend)
    foreign.start(foreign_key, spec, "someone", [])
    try:
        with app.app_context():
            report = reconcile()
        assert orphan_key in report.orphans
        assert vanish_key in report.vanished
        assert foreign_key not in report.orphans
        assert wait_removed(docker_client, orphan_key) == ([], [])
        assert wait_removed(docker_client, vanish_key) == ([], [])
        assert len(containers_of(docker_client, foreign_key)) == 1
        assert foreign.is_running(foreign_key)
        after = bob_api.session(vanishing["id"])
        assert (after["status"], after["end_reason"]) == ("stopped", "vanished")
    finally:
        foreign.stop(foreign_key)


# -- the engine unreachable -----------------------------------------------------------------


def test_engine_unreachable_gives_503_and_pages_still_work(tmp_path):
    app = make_lab_app(tmp_path, LMS_DOCKER_URL=f"unix://{tmp_path}/no-docker.sock")
    try:
        _, token = create_user(app, "carol@example.org")
        api = ApiClient(app, token)
        response = api.start("tiny-lab")
        assert response.status_code == 503
        assert response.json == {"error": "lab_service_unavailable", "message": UNAVAILABLE_MESSAGE}

        client = app.test_client()
        client.post("/login", data={"email": "carol@example.org", "password": PASSWORD})
        for url in ("/", "/catalogue", "/courses/lab-course", LAB_MODULE_URL):
            assert client.get(url).status_code == 200, url
        page = client.get(LAB_MODULE_URL).get_data(as_text=True)
        assert "The lab service is unavailable right now; your progress is safe" in page

        create_user(app, "root@example.org", role="platform_admin")
        admin = app.test_client()
        admin.post("/login", data={"email": "root@example.org", "password": PASSWORD})
        admin_page = admin.get("/labs/admin")
        assert admin_page.status_code == 200
        assert "unreachable" in admin_page.get_data(as_text=True)
        result = app.test_cli_runner().invoke(args=["labs", "ls"])
        assert result.exit_code == 1 and "unavailable" in result.output
    finally:
        close_lab_app(app)


# -- pages and commands ---------------------------------------------------------------------


def test_admin_page_lists_and_stops_labs(app, alice, docker_client, monkeypatch):
    _, api = alice
    body = start_running(api)
    create_user(app, "root@example.org", role="platform_admin")
    admin = app.test_client()
    admin.post("/login", data={"email": "root@example.org", "password": PASSWORD})
    with app.app_context():
        reap()  # a lab worker's sweep: it lists the engine for the page
        runtime = app_runtime.lab_runtime()

    def engine_asked():
        raise AssertionError("the admin page asked the engine")

    # The page shows the sweep's listing: the request itself never waits on the engine.
    monkeypatch.setattr(runtime, "list_running", engine_asked)
    page = admin.get("/labs/admin").get_data(as_text=True)
    assert "alice@example.org" in page and "Tiny test lab" in page
    assert 'id="labs-per-user">1<' in page
    assert 'id="labs-engine">up · ' in page and 'id="labs-listed-at"' in page
    row = page.split(f'id="lab-session-{body["id"]}"')[1].split("</tr>")[0]
    assert "<td>yes</td>" in row
    assert '<td class="lab-node">local</td>' in row  # one engine, on its local socket
    nodes = page.split('id="lab-nodes"')[1].split("</table>")[0]
    assert "<td>local</td>" in nodes and "no limit of its own" in nodes
    monkeypatch.undo()
    response = admin.post(f"/labs/admin/sessions/{body['id']}/stop")
    assert response.status_code == 302
    after = api.session(body["id"])
    assert (after["status"], after["end_reason"]) == ("stopped", "admin")

    trainee = app.test_client()
    trainee.post("/login", data={"email": "alice@example.org", "password": PASSWORD})
    assert trainee.get("/labs/admin").status_code == 403
    assert trainee.get("/labs/flag-shares").status_code == 403


def test_cli_build_ls_and_reap(app, alice, docker_client):
    runner = app.test_cli_runner()
    built = runner.invoke(args=["labs", "build", "tiny-lab"])
    assert built.exit_code == 0, built.output
    assert "is up to date" in built.output and "lms-lab/tiny-lab-main:" in built.output

    _, api = alice
    body = start_running(api)
    listed = runner.invoke(args=["labs", "ls"])
    assert listed.exit_code == 0, listed.output
    assert "alice@example.org" in listed.output and "tiny-lab" in listed.output
    [line] = [line for line in listed.output.splitlines() if "alice@example.org" in line]
    assert " local " in line  # its NODE: the local engine

    with app.app_context():
        session = db.session.get(LabSession, body["id"])
        session.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    reaped = runner.invoke(args=["labs", "reap"])
    assert reaped.exit_code == 0, reaped.output
    assert "expired: 1" in reaped.output


def test_form_actions_without_javascript(app, alice, client, docker_client):
    user_id, api = alice
    client.post("/login", data={"email": "alice@example.org", "password": PASSWORD})
    module_id = _module_id(app)
    response = client.post(
        "/labs/tiny-lab/start", data={"next": LAB_MODULE_URL, "module": module_id}
    )
    assert response.status_code == 302 and response.location.endswith("#lab-panel")
    with app.app_context():
        session = services.live_session(user_id, "tiny-lab")
        assert session is not None and session.module_id == module_id
        session_id = session.id
    api.wait_settled(session_id)
    with app.app_context():
        flag = flag_for(user_id, "tiny-lab")
    client.post(
        f"/labs/sessions/{session_id}/flag",
        data={"task": "read-flag", "flag": flag, "next": LAB_MODULE_URL},
    )
    page = client.get(LAB_MODULE_URL).get_data(as_text=True)
    assert "Correct: task done." in page
    with app.app_context():
        assert db.session.scalar(select(TaskCompletion.task_id)) == "read-flag"
    client.post(f"/labs/sessions/{session_id}/stop", data={"next": LAB_MODULE_URL})
    assert api.session(session_id)["status"] == "stopped"
