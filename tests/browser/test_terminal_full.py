"""A full platform in the browser: the terminal panel says so, then connects by itself.

The WebSocket of a terminal is refused before the upgrade when the process
holds all the terminals it can (LMS_MAX_TERMINALS_PER_PROCESS); browsers
show scripts nothing of a refused handshake, so the panel asks the server why
and shows it in the terminal, and keeps trying.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_terminal import SHELL_MODULE, lab_app, start_lab, wait_screen

pytestmark = pytest.mark.docker

__all__ = ["lab_app"]  # the fixture: the live app with its own session-key prefix


def test_a_full_platform_is_shown_in_the_terminal_and_retried(page, sign_in, lab_app):
    capacity = lab_app.config["LMS_MAX_TERMINALS_PER_PROCESS"]
    lab_app.config["LMS_MAX_TERMINALS_PER_PROCESS"] = 0
    try:
        sign_in(page)
        start_lab(page, SHELL_MODULE)
        wait_screen(page, r"The platform is full")
        expect(page.locator(".term-state")).to_contain_text("Try again in a minute")
        # Pages are still served meanwhile.
        assert page.request.get("/catalogue").status == 200
    finally:
        lab_app.config["LMS_MAX_TERMINALS_PER_PROCESS"] = capacity
    # Room again: the tab connects by itself, to a working shell.
    wait_screen(page, r"trainee@main:~\$", timeout=60_000)
    panel = page.locator("#lab-panel")
    panel.get_by_role("button", name="Stop", exact=True).click()
    expect(panel.locator("#lab-status")).to_have_text("Stopped", timeout=30_000)
