"""A trainee starts the lab of a module in the browser, watches it come up, submits flags."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from lms.auth.services import find_user_by_email
from lms.content.lab_parser import load_lab
from lms.labs.flags import flag_for
from tests.conftest import ROOT
from tests.lab_support import own_lab_prefix

MODULE_URL = "/courses/linux-fundamentals/the-shell"


@pytest.fixture
def lab_app(live_app, docker_client):
    """The live app with its own session-key prefix; its labs are swept afterwards."""
    from lms.labs.runtime import get_image_builder

    get_image_builder().build(load_lab(ROOT / "labs" / "shell-basics"))
    with own_lab_prefix(live_app):
        yield live_app


@pytest.mark.docker
def test_trainee_starts_a_lab_and_submits_flags(page, sign_in, lab_app):
    email = sign_in(page)
    with lab_app.app_context():
        flag = flag_for(find_user_by_email(email).id, "shell-basics")

    page.goto(MODULE_URL)
    panel = page.locator("#lab-panel")
    expect(panel.get_by_role("heading", name="Lab: Finding your way in the shell")).to_be_visible()
    expect(panel.locator("#lab-status")).to_have_text("Not started")
    expect(panel.get_by_label("Flag")).to_be_disabled()

    panel.get_by_role("button", name="Start the lab").click()
    expect(panel.locator("#lab-status")).to_have_text(re.compile("Starting|Running"))
    expect(panel.locator("#lab-status")).to_have_text("Running", timeout=60_000)
    time_left = panel.locator("#lab-time-left")
    expect(time_left).to_have_text(re.compile(r"^0:5\d:\d\d$"))
    first = time_left.inner_text()
    expect(time_left).not_to_have_text(first, timeout=3_000)  # it counts down
    expect(panel.get_by_role("button", name="Extend")).to_be_visible()
    expect(panel.get_by_role("button", name="Restart fresh")).to_be_visible()
    expect(page.locator("#lab-terminal")).to_have_attribute("data-status", "running")

    task = panel.locator("#lab-task-find-flag")
    task.get_by_label("Flag").fill("FLAG{not-the-right-one}")
    task.get_by_role("button", name="Submit flag").click()
    expect(task.locator(".lab-task-result")).to_contain_text("That is not the flag")
    expect(task.locator(".lab-task-state")).to_have_text("To do")

    task.get_by_label("Flag").fill(flag)
    task.get_by_role("button", name="Submit flag").click()
    expect(task.locator(".lab-task-result")).to_contain_text("Correct: task done.")
    expect(task.locator(".lab-task-state")).to_have_text("Done")
    expect(panel.locator("#lab-tasks-done")).to_have_text("1 of 3 done")

    task = panel.locator("#lab-task-count-errors")
    task.get_by_role("button", name="Show a hint").click()
    expect(task.locator(".lab-hint")).to_contain_text("grep ERROR")
    task.get_by_role("button", name="Check my work").click()
    expect(task.locator(".lab-task-result")).to_contain_text("Not yet")

    # A reload shows the same state from the server.
    page.reload()
    expect(panel.locator("#lab-status")).to_have_text("Running")
    expect(panel.locator("#lab-task-find-flag .lab-task-state")).to_have_text("Done")

    panel.get_by_role("button", name="Stop").click()
    expect(panel.locator("#lab-status")).to_have_text("Stopped")
    expect(panel.get_by_role("button", name="Start the lab")).to_be_visible()
