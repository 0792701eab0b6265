"""A centre admin enrols trainees from a CSV file and follows them on the cohort dashboard.

The whole path in a real browser: upload a spreadsheet export (BOM, quoted
comma, non-ASCII names), assign a course, the invited trainee accepts the link
and completes a module, the dashboard shows it, and the CSV export downloads
with it.
"""

import csv
import io
import itertools
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from lms.extensions import db
from tests.conftest import PASSWORD

_runs = itertools.count(1)


@pytest.fixture
def centre_with_cohort(live_app, create_live_user):
    """A centre, an empty cohort and the email of a centre admin who runs the centre."""
    from lms.auth.services import find_user_by_email
    from lms.centres import services

    n = next(_runs)
    admin_email = create_live_user("centre_admin", name="Browser Admin")
    with live_app.app_context():
        centre = services.create_centre(
            f"Browser Centre {n}", "Singapore", slug=f"browser-centre-{n}"
        )
        centre.admins.append(find_user_by_email(admin_email))
        cohort = services.create_cohort(centre, "Analysts, spring")
        db.session.commit()
        return {"cohort_id": cohort.id, "admin": admin_email, "n": n}


def test_csv_upload_to_dashboard_and_export(
    page, browser, live_server, sign_in, centre_with_cohort
):
    n, cohort_id = centre_with_cohort["n"], centre_with_cohort["cohort_id"]
    trainee_email = f"nguyen.mai.{n}@example.org"
    sign_in(page, email=centre_with_cohort["admin"])

    # 1. Upload a roster as Excel writes it: byte-order mark, CRLF, a quoted comma, non-ASCII.
    page.goto(f"/cohorts/{cohort_id}")
    roster = (
        "\ufeffemail,name,cohort\r\n"
        f'{trainee_email},"Nguyễn, Thị Mai",\r\n'
        f"zoe.{n}@example.org,Zoë Müller,Analysts, spring\r\n"
    )
    page.get_by_label("CSV file (columns: email, name, cohort)").set_input_files(
        files=[{"name": "trainees.csv", "mimeType": "text/csv", "buffer": roster.encode("utf-8")}]
    )
    page.get_by_role("button", name="Upload and add").click()
    # The second row has an unquoted comma: the whole file is refused, nothing changes.
    expect(page.locator("#import-outcome")).to_contain_text("Nothing was changed")
    expect(page.locator("tr[data-line='3']")).to_contain_text("double quotes")

    page.goto(f"/cohorts/{cohort_id}")
    fixed = roster.replace("Analysts, spring", '"Analysts, spring"')
    page.get_by_label("CSV file (columns: email, name, cohort)").set_input_files(
        files=[{"name": "trainees.csv", "mimeType": "text/csv", "buffer": fixed.encode("utf-8")}]
    )
    page.get_by_role("button", name="Upload and add").click()
    expect(page.locator("#import-outcome")).to_contain_text("The file is imported: 2 created")
    row = page.locator("tr[data-status='created']", has_text=trainee_email)
    expect(row).to_contain_text("Nguyễn, Thị Mai")
    link = row.locator(".invitation-link").inner_text()
    assert "/invite/" in link

    # 2. Assign the course with a due date.
    page.get_by_role("link", name="Back to the cohort").click()
    expect(page.locator("#pending")).to_contain_text(trainee_email)
    page.get_by_label("Course", exact=True).select_option(label="Demo course for tests")
    page.get_by_label("Due on").fill((date.today() + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Assign the course").click()
    expect(page.locator("#cohort-courses")).to_contain_text("Demo course for tests")

    # 3. The trainee accepts the invitation and completes a module, in their own browser.
    trainee = browser.new_context(base_url=live_server)
    try:
        tpage = trainee.new_page()
        tpage.goto("/invite/" + link.split("/invite/")[1])
        tpage.get_by_label("Full name").fill("Nguyễn Thị Mai")
        tpage.get_by_label("Password", exact=True).fill(PASSWORD)
        tpage.get_by_label("Repeat the password").fill(PASSWORD)
        tpage.get_by_role("button", name="Create my account").click()
        # Their home puts the course the cohort was assigned first, with its due date.
        assigned = tpage.locator("#assigned li[data-course='demo-course']")
        expect(assigned).to_contain_text("Demo course for tests")
        expect(assigned).to_contain_text("Due ")
        tpage.goto("/courses/demo-course/next-steps")
        tpage.get_by_role("button", name="Mark as complete").click()
        expect(tpage.locator(".alert-success")).to_contain_text("is complete")
    finally:
        trainee.close()

    # 4. The dashboard shows it, charts and all.
    page.goto(f"/cohorts/{cohort_id}/dashboard")
    modules = page.locator("#matrix thead th[data-module]").evaluate_all(
        "cells => cells.map(cell => cell.dataset.module)"
    )
    column = modules.index("demo-course/next-steps")
    cell = page.locator(f"#matrix tr[data-trainee='{trainee_email}'] td.m").nth(column)
    expect(cell).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("tr[data-module='demo-course/next-steps']")).to_contain_text("1")
    expect(page.locator("canvas[data-chart='modules']")).to_be_visible()
    assert page.evaluate(
        "document.querySelector(\"canvas[data-chart='modules']\").chart !== undefined"
    )

    # 5. The matrix export downloads with it.
    with page.expect_download() as download_info:
        page.locator("[data-export='matrix']").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as exported:
        text = exported.read()
    rows = {r["email"]: r for r in csv.DictReader(io.StringIO(text))}
    assert rows[trainee_email]["name"] == "Nguyễn Thị Mai"
    assert rows[trainee_email]["Next steps [demo-course/next-steps] status"] == "done"
    assert rows[trainee_email]["modules done"] == "1"
