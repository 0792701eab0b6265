"""A team exercise from end to end, in real browsers on the real engine (issue 14).

An instructor of one centre creates an exercise on the team-mini lab for their cohort and
a partner centre's, forms one team of three trainees of both centres from a CSV file and
starts it. Each trainee, in their own browser, opens the team page: their own terminal on
their role's workstation, the inject timed at minute 0 (its message on the page, its file
in the blue workstation). A blue member does the blue task and checks it; the whole team
sees it done. The white cell fires an inject by hand, ends the exercise, and the
after-action report lists the finding, for the white cell and for the team.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from lms.auth.services import create_user
from lms.centres import services as centres
from lms.content import lab_library
from lms.extensions import db
from lms.labs import app_runtime
from tests.conftest import PASSWORD
from tests.exercise_support import FIXTURE_LABS, TEAM_LAB
from tests.lab_support import own_lab_prefix

pytestmark = [pytest.mark.browser, pytest.mark.docker]

BLUE_TASK = "Write your report to ~/report.txt"


@pytest.fixture(scope="module")
def team_lab_app(live_app, docker_client):
    """The live app seeing the fixture labs (team-mini built), under its own session-key
    prefix: whatever lab this module starts is swept afterwards."""
    previous = live_app.config["LMS_LABS_DIR"]
    live_app.config["LMS_LABS_DIR"] = str(FIXTURE_LABS)
    try:
        with own_lab_prefix(live_app):
            with live_app.app_context():
                lab_library.clear_spec_cache()
                app_runtime.lab_image_builder().build(lab_library.get_spec(TEAM_LAB))
            yield live_app
    finally:
        live_app.config["LMS_LABS_DIR"] = previous
        with live_app.app_context():
            lab_library.clear_spec_cache()


@pytest.fixture
def new_page(browser, live_server):
    """new_page() -> a page in a fresh browser context (another person)."""
    contexts, pages = [], []

    def make():
        context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        pages.append(page)
        return page

    yield make
    errors = [e for page in pages for e in page.errors]
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the pages: {errors}"


def two_partner_centres(app) -> dict[str, str]:
    """North and South (partners), a cohort each, North's instructor, trainees n1, n2 in
    North and s1 in South: key -> e-mail (names made unique for the shared live app)."""
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        north = centres.create_centre(f"North {tag}", "Estonia", slug=f"north-{tag}")
        south = centres.create_centre(f"South {tag}", "Singapore", slug=f"south-{tag}")
        north.partners = [south]
        north_cohort = centres.create_cohort(north, f"Cohort N {tag}")
        south_cohort = centres.create_cohort(south, f"Cohort S {tag}")
        db.session.flush()
        emails = {"tag": tag}
        instructor = create_user(
            f"inst-{tag}@example.org",
            PASSWORD,
            role="instructor",
            name=f"Ines {tag}",
            centre_id=north.id,
        )
        north_cohort.instructors.append(instructor)
        emails["instructor"] = instructor.email
        for key, centre, cohort in (
            ("n1", north, north_cohort),
            ("n2", north, north_cohort),
            ("s1", south, south_cohort),
        ):
            trainee = create_user(
                f"{key}-{tag}@example.org",
                PASSWORD,
                role="trainee",
                name=f"Trainee {key} {tag}",
                centre_id=centre.id,
            )
            centres.join_cohort(trainee, cohort)
            emails[key] = trainee.email
        db.session.commit()
    return emails


def type_command(page, command: str) -> None:
    page.locator(".term-pane:not([hidden]) .xterm-helper-textarea").focus()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def wait_screen(page, pattern: str, timeout: int = 60_000) -> None:
    page.wait_for_function(
        "p => window.lmsTerminals && window.lmsTerminals[0]"
        " && new RegExp(p).test(window.lmsTerminals[0].text())",
        arg=pattern,
        timeout=timeout,
    )


def open_team_page(page, sign_in, email: str) -> None:
    """Sign in, then from the Exercises page to the team's page; wait for the terminal."""
    sign_in(page, email=email)
    page.goto("/exercises")
    page.get_by_role("link", name="Open my team’s page").click()
    page.wait_for_url(re.compile(r"/exercises/\d+/team$"))
    page.wait_for_function(
        "() => window.lmsTerminals && window.lmsTerminals[0] && window.lmsTerminals[0].socket"
        " && window.lmsTerminals[0].socket.readyState === 1",
        timeout=120_000,  # the team's environment starts in the background
    )


def test_a_team_of_two_centres_plays_an_exercise(team_lab_app, new_page, sign_in):
    people = two_partner_centres(team_lab_app)
    tag = people["tag"]

    # The instructor creates the exercise for their cohort and the partner's.
    staff = new_page()
    sign_in(staff, email=people["instructor"])
    staff.goto("/exercises")
    staff.get_by_role("link", name="New exercise").click()
    staff.get_by_label("Title").fill(f"Morning drill {tag}")
    staff.get_by_label("Team lab").select_option(TEAM_LAB)
    staff.get_by_label(re.compile(f"Cohort N {tag}")).check()
    staff.get_by_label(re.compile(f"Cohort S {tag}")).check()
    staff.get_by_role("button", name="Create the exercise").click()
    expect(staff.locator(".alert-success")).to_contain_text("now form its teams")

    # One team of three from a file: two blue analysts (North, South) and a red operator.
    lines = [
        "email,team,role",
        f"{people['n1']},Tigers,blue",
        f"{people['s1']},Tigers,red",
        f"{people['n2']},Tigers,blue",
    ]
    staff.get_by_label("CSV file (email,team,role)").set_input_files(
        {"name": "teams.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}
    )
    staff.get_by_role("button", name="Upload and apply").click()
    expect(staff.locator(".alert-success")).to_contain_text("3 trainees placed")
    staff.get_by_role("button", name="Start the exercise").click()
    expect(staff.locator("#whitecell")).to_be_visible()

    # Each trainee: their team's page, their own terminal on their role's workstation.
    blue, red, blue_too = new_page(), new_page(), new_page()
    for page, key in ((blue, "n1"), (red, "s1"), (blue_too, "n2")):
        open_team_page(page, sign_in, people[key])
    expect(blue.locator("#team-role-h")).to_have_text("Your role: Blue analyst")
    expect(red.locator("#team-role-h")).to_have_text("Your role: Red operator")
    members = red.locator("#team-members")
    expect(members).to_contain_text(f"Trainee n1 {tag}")
    expect(members).to_contain_text(f"South {tag}")
    type_command(red, "echo me=$(id -un)")
    wait_screen(red, "me=red")
    type_command(blue_too, "echo me=$(id -un) pid=$$")
    wait_screen(blue_too, "me=blue pid=")

    # The inject of minute 0 arrives on every page, and its file in the blue workstation.
    for page in (blue, red, blue_too):
        expect(page.locator("#team-injects")).to_contain_text("The morning briefing")
    expect(blue.locator("#team-injects")).to_contain_text("the web server may be compromised")
    type_command(blue, "cat ~/briefing.txt")
    wait_screen(blue, r"Suspicious logins from 203\.0\.113\.7")

    # A blue member does the blue task and checks it: the whole team sees it done.
    type_command(blue, "echo 203.0.113.7 > ~/report.txt")
    task = blue.locator("#team-task-blue-report")
    task.get_by_role("button", name="Check our work").click()
    expect(task.locator(".team-task-state")).to_have_text("Done", timeout=60_000)
    on_red = red.locator("#team-task-blue-report")
    expect(on_red.locator(".team-task-state")).to_have_text("Done")
    expect(on_red.locator(".team-task-by")).to_contain_text(f"Trainee n1 {tag}")

    # The white cell fires the by-hand inject: it reaches the team's pages.
    staff.reload()
    staff.locator('tr[data-inject="alarm"]').get_by_role("button", name="Fire now").click()
    expect(red.locator("#team-injects")).to_contain_text("An alarm on the target")

    # The end, and the after-action report lists the finding.
    staff.once("dialog", lambda dialog: dialog.accept())
    staff.get_by_role("button", name="End the exercise").click()
    expect(staff.get_by_text("The exercise has ended.")).to_be_visible()
    staff.get_by_role("link", name="Report", exact=True).first.click()  # every team's
    findings = staff.locator("[data-findings]")
    expect(findings).to_contain_text(BLUE_TASK)
    expect(findings).to_contain_text(f"Trainee n1 {tag}")

    report_link = red.locator("#team-report")
    expect(report_link).to_be_visible()
    report_link.click()
    expect(red.locator("[data-findings]")).to_contain_text(BLUE_TASK)
