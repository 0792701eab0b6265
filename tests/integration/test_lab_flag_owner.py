"""A lab written only from the documented format is solvable from its terminal.

tests/fixtures/labs/documented-lab runs its terminal as an unprivileged `user`
and puts the flag in that user's home with the documented keys only (no uid or
gid): the flag file must belong to that user. The trainee starts the lab through
the API, reads the flag with `cat` in the browser terminal's WebSocket, and
submits it.
"""

from __future__ import annotations

import re
import uuid

import pytest
import yaml

from lms.content.lab_parser import load_lab
from lms.labs.runtime import SecretFile, StartFailed, get_image_builder, get_runtime
from tests.lab_support import FIXTURE_LABS, ApiClient, close_lab_app, create_user, make_lab_app
from tests.terminal_support import Shell, serving, sign_in

pytestmark = pytest.mark.docker

LAB = "documented-lab"


@pytest.fixture(scope="module")
def documented_lab(docker_client):
    written = yaml.safe_load((FIXTURE_LABS / LAB / "lab.yaml").read_text())
    assert set(written["flag"]) == {"container", "path", "mode"}  # the documented keys only
    spec = load_lab(FIXTURE_LABS / LAB)
    get_image_builder().build(spec)
    return spec


@pytest.fixture
def server(tmp_path, documented_lab):
    app = make_lab_app(tmp_path, LMS_RECORDINGS_DIR=str(tmp_path / "recordings"))
    try:
        with serving(app) as base:
            yield base, app
    finally:
        close_lab_app(app)


def test_the_trainee_reads_the_flag_in_their_home_and_submits_it(server):
    base, app = server
    _, token = create_user(app, "learner@example.org")
    api = ApiClient(app, token)
    started = api.start(LAB)
    assert started.status_code == 202, started.json
    session = api.wait_settled(started.json["id"])
    assert session["status"] == "running", session

    browser = sign_in(base, "learner@example.org")
    shell = Shell(base, browser, session["id"], terminal="documented01")
    try:
        shell.send("id -un; ls -ln ~/flag.txt; cat ~/flag.txt\r")
        shell.read_until(r"-r-------- +1 1234 +1234 .*flag\.txt")
        flag = shell.read_until(r"FLAG\{[0-9a-f]{32}\}").group(0)
        assert "Permission denied" not in shell.text
    finally:
        shell.control({"t": "close"})
        shell.close()

    answer = api.post(
        f"/api/v1/labs/sessions/{session['id']}/flag", {"task": "read-flag", "flag": flag}
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["correct"] is True
    assert [t["done"] for t in api.session(session["id"])["tasks"]] == [True]


def test_a_flag_owner_missing_from_the_image_fails_the_start_clearly(tmp_path, docker_client):
    """`user:` naming nobody in the image: the start fails, nothing is left behind."""
    folder = tmp_path / "ghost-user-lab"
    folder.mkdir()
    (folder / "Dockerfile").write_text('FROM lms-base/busybox:latest\nCMD ["/bin/sh"]\n')
    (folder / "lab.yaml").write_text(
        "title: Ghost user\nnetwork: none\ncontainers:\n  main: {build: ., user: ghost}\n"
        "flag: {container: main, path: /home/ghost/flag.txt}\n"
        "tasks:\n  - {id: f, title: Flag, type: flag}\n"
    )
    spec = load_lab(folder)
    runtime = get_runtime()
    get_image_builder().build(spec)
    key = f"tlab-ghost-{uuid.uuid4().hex[:8]}"
    secret = SecretFile("main", "/home/ghost/flag.txt", b"FLAG{x}\n", owner="ghost")
    try:
        with pytest.raises(StartFailed, match=re.escape("user ghost is not in the image")):
            runtime.start(key, spec, "someone", [secret])
        assert runtime.session_keys(key_prefix=key) == set()
    finally:
        runtime.stop(key)
