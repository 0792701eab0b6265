"""A platform admin changes someone's role in Chromium, then finds it in the audit log
from the menu, narrows the log to that action and downloads it as CSV."""

from __future__ import annotations

import csv
from pathlib import Path

from playwright.sync_api import expect

from lms.auth.services import find_user_by_email


def test_a_role_change_is_in_the_audit_log_and_its_csv(page, live_app, sign_in, create_live_user):
    trainee = create_live_user("trainee")
    with live_app.app_context():
        trainee_id = find_user_by_email(trainee).id
    admin = sign_in(page, "platform_admin")

    page.goto(f"/admin/users/{trainee_id}")
    page.get_by_label("Role").select_option("instructor")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()

    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_label("Action").fill("user.role")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#audit-events tbody tr")
    expect(rows.filter(has_text=trainee)).to_have_count(1)
    row = rows.filter(has_text=trainee)
    expect(row).to_contain_text(admin)
    expect(row).to_contain_text("Trainee → Instructor")
    expect(row).to_contain_text("127.0.0.1")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(
        csv.reader(Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines())
    )
    assert rows[0][:3] == ["when (UTC)", "who", "action"]
    mine = [row for row in rows[1:] if trainee in row[3]]
    assert [(row[1], row[2]) for row in mine] == [(admin, "user.role")]
    assert {row[2] for row in rows[1:]} == {"user.role"}  # the export keeps the filter
