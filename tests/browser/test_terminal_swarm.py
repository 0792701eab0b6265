"""The lab in the browser on the swarm backend: a trainee starts the shell-basics lab, which
runs as services of the engine's Docker Swarm (``LMS_LAB_BACKEND=swarm``), works in its
terminal (the shell is opened through the engine of the node that runs the task) and
submits the flag read there. The live app is switched to the swarm backend for this module
only; its labs are swept by its own session-key prefix afterwards.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lms.labs import app_runtime
from tests.browser.test_terminal import FLAG, session_of, start_lab, type_command, wait_screen
from tests.integration.conftest import swarm_engine  # noqa: F401  (the engine as a swarm)
from tests.lab_support import own_lab_prefix

pytestmark = pytest.mark.docker

SHELL_MODULE = "/courses/linux-fundamentals/the-shell"


@pytest.fixture(scope="module")
def swarm_app(live_app, swarm_engine, tmp_path_factory):  # noqa: F811
    """The live app running labs on the swarm backend (its runtime and image builder made
    afresh for it), and back on its own backend afterwards."""
    keys = (app_runtime.RUNTIME_KEY, app_runtime.IMAGE_BUILDER_KEY)
    saved = {key: live_app.extensions.pop(key, None) for key in keys}
    backend = live_app.config.get("LMS_LAB_BACKEND", "docker")
    live_app.config["LMS_LAB_BACKEND"] = "swarm"
    live_app.config["LMS_RECORDINGS_DIR"] = str(tmp_path_factory.mktemp("recordings"))
    try:
        with own_lab_prefix(live_app):
            with live_app.app_context():
                from lms.content.lab_library import get_spec

                app_runtime.lab_image_builder().build(get_spec("shell-basics"))
            yield live_app
    finally:
        live_app.config["LMS_LAB_BACKEND"] = backend
        for key, value in saved.items():
            live_app.extensions.pop(key, None)
            if value is not None:
                live_app.extensions[key] = value


def test_trainee_works_in_the_terminal_of_a_lab_on_the_swarm(
    page, sign_in, swarm_app, docker_client
):
    sign_in(page)
    start_lab(page, SHELL_MODULE)
    lab = session_of(swarm_app, "shell-basics")
    assert lab.node == docker_client.info()["Name"]  # the swarm node its task runs on
    services = docker_client.services.list(filters={"label": [f"lms.session={lab.key}"]})
    assert len(services) == 1  # a service, not a plain container

    wait_screen(page, r"trainee@main:~\$")
    type_command(page, "echo swarm-$((6*7))")
    wait_screen(page, r"swarm-42")

    type_command(page, "cat ~/.secret/.flag")
    flag = wait_screen(page, FLAG.pattern).group(0)
    task = page.locator("#lab-task-find-flag")
    task.get_by_label("Flag").fill(flag)
    task.get_by_role("button", name="Submit flag").click()
    expect(task.locator(".lab-task-state")).to_have_text("Done")
