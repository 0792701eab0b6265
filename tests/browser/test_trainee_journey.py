"""A trainee's day in Chromium at 1366x900 and on a phone (390x844): the home page shows the
courses assigned to their cohort with due dates (overdue marked), the catalogue finds
words anywhere, a module with a lab says so at the top, "Mark as complete" waits for the
quiz and the lab; with a lab started from the bar, the terminal docks beside the text
without breaking the page (or covers a phone's screen)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from lms.auth.models import utcnow
from lms.auth.services import find_user_by_email
from lms.extensions import db
from lms.labs.flags import flag_for
from tests.lab_support import own_lab_prefix

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
LAB_MODULE = "/courses/linux-fundamentals/the-shell"
_cohorts = itertools.count(1)


@pytest.fixture
def assigned_trainee(live_app, create_live_user):
    """create() -> email of a trainee whose cohort has demo-course (overdue by 2 days) and
    linux-fundamentals (due in 5 days)."""

    def create():
        from lms.auth.services import find_user_by_email
        from lms.catalog.models import Course
        from lms.centres import services
        from lms.centres.models import CohortMember

        email = create_live_user()
        today = utcnow().date()
        with live_app.app_context():
            number = next(_cohorts)
            centre = services.create_centre(f"Journey centre {number}")
            cohort = services.create_cohort(centre, f"Journey cohort {number}")
            ids = dict(db.session.execute(db.select(Course.slug, Course.id)).all())
            services.assign_course(cohort, ids["demo-course"], today - timedelta(days=2))
            services.assign_course(cohort, ids["linux-fundamentals"], today + timedelta(days=5))
            user = find_user_by_email(email)
            db.session.add(CohortMember(cohort_id=cohort.id, user_id=user.id))
            db.session.commit()
        return email

    return create


def tabs_to_reach(page, locator, limit=40) -> int:
    """How many Tab presses from the top of the page until ``locator`` has the focus."""
    page.locator("body").focus()
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return presses
    return limit + 1


def test_trainee_journey_at_1366_and_on_a_phone(page, sign_in, assigned_trainee):
    page.set_viewport_size(DESKTOP)
    sign_in(page, email=assigned_trainee())

    # Home: the assigned courses first, the overdue one marked, then the one due soon.
    assigned = page.locator("#assigned .assigned-course")
    expect(assigned).to_have_count(2)
    expect(assigned.nth(0)).to_have_attribute("data-course", "demo-course")
    expect(assigned.nth(0).locator(".due-badge")).to_have_text("Overdue")
    expect(assigned.nth(0)).to_contain_text("was due")
    expect(assigned.nth(1)).to_have_attribute("data-state", "due-soon")
    expect(assigned.nth(1)).to_contain_text("in 5 days")
    feed = page.locator("#calendar-url")
    expect(feed).to_have_value(re.compile(r"/calendar/\d+/\w+\.ics$"))
    expect(page.get_by_role("button", name="Copy")).to_be_visible()

    # The catalogue finds "sql" in the OWASP course, with its matching modules; tags link.
    page.get_by_role("link", name="Catalogue", exact=True).click()
    page.get_by_label("Search").fill("sql")
    page.get_by_role("button", name="Search", exact=True).click()
    card = page.locator(".course-card").first
    expect(card).to_have_attribute("data-course", "web-security-owasp")
    expect(card.locator(".search-modules")).to_contain_text("Injection")
    card.locator(".course-tag").first.click()
    expect(page).to_have_url(re.compile(r"/catalogue\?tag="))

    # A module with a lab says so at the top: the bar is on the first screen, early for Tab.
    page.goto(LAB_MODULE)
    bar = page.locator("#lab-bar")
    expect(bar).to_contain_text("Hands-on lab: Finding your way in the shell")
    expect(bar.locator("[data-lab-bar-status]")).to_have_text("Not started")
    start = bar.get_by_role("button", name="Start the lab")
    assert start.bounding_box()["y"] + start.bounding_box()["height"] < DESKTOP["height"]
    assert tabs_to_reach(page, start) <= 12
    panel_top = page.locator("#lab-panel").bounding_box()["y"]
    assert panel_top > 2 * DESKTOP["height"]  # the full panel stays where the text needs it

    # "Mark as complete" waits, saying why.
    complete = page.get_by_role("button", name="Mark as complete")
    expect(complete).to_be_disabled()
    expect(page.locator("#module-missing")).to_contain_text("pass the quiz")
    expect(page.locator("#module-missing")).to_contain_text("lab")

    # Sidebar status marks are small and beside their module's name.
    for mark in page.locator(".module-aside .status-mark").all():
        assert mark.bounding_box()["height"] <= 24

    # The same on a phone: nothing wider than the screen, the lab bar on the first screen.
    page.set_viewport_size(PHONE)
    page.goto("/")
    overdue = page.locator("#assigned .assigned-course").first
    expect(overdue).to_have_attribute("data-state", "overdue")
    expect(overdue.locator(".due-badge")).to_have_text("Overdue")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    page.goto(LAB_MODULE)
    start = page.locator("#lab-bar").get_by_role("button", name="Start the lab")
    expect(start).to_be_visible()
    assert start.bounding_box()["y"] < PHONE["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_role("button", name="Mark as complete")).to_be_disabled()


@pytest.fixture
def lab_app(live_app, docker_client):
    from lms.content.lab_library import get_spec
    from lms.labs import app_runtime

    with own_lab_prefix(live_app):
        with live_app.app_context():
            app_runtime.lab_image_builder().build(get_spec("shell-basics"))
        yield live_app


@pytest.mark.docker
def test_a_lab_started_from_the_bar_docks_its_terminal_beside_the_text(page, sign_in, lab_app):
    page.set_viewport_size(DESKTOP)
    email = sign_in(page)
    with lab_app.app_context():
        flag = flag_for(find_user_by_email(email).id, "shell-basics")
    page.goto(LAB_MODULE)
    menu_height = page.locator("nav.navbar").bounding_box()["height"]

    bar = page.locator("#lab-bar")
    bar.get_by_role("button", name="Start the lab").click()
    expect(bar.locator("[data-lab-bar-status]")).to_have_text("Running", timeout=60_000)
    expect(bar.locator("[data-lab-bar-time-left]")).to_have_text(re.compile(r"^0:\d\d:\d\d$"))
    expect(page.locator("#lab-status")).to_have_text("Running")  # the panel agrees

    # The home page shows the running lab, its time left and the way back to it.
    page.get_by_role("link", name="Home", exact=True).click()
    running = page.locator(".home-running-lab")
    expect(running).to_contain_text("Finding your way in the shell")
    expect(running.locator("[data-countdown]")).to_have_text(re.compile(r"^0:\d\d:\d\d$"))
    running.get_by_role("link", name="Go to the lab").click()
    dock = page.locator(".term-dock")
    expect(dock).to_be_visible(timeout=30_000)  # the terminal comes back docked

    # Docked at 1366 px: the menu bar stays one line, the status marks stay small and off
    # the heading, the reading column keeps its room.
    assert page.locator("nav.navbar").bounding_box()["height"] == menu_height
    heading = page.get_by_role("heading", level=1).bounding_box()
    for mark in page.locator(".module-aside .status-mark").all():
        box = mark.bounding_box()
        assert box["height"] <= 24
        overlaps = not (
            box["x"] + box["width"] <= heading["x"]
            or heading["x"] + heading["width"] <= box["x"]
            or box["y"] + box["height"] <= heading["y"]
            or heading["y"] + heading["height"] <= box["y"]
        )
        assert not overlaps
    reading = page.locator(".module-body").bounding_box()
    assert reading["x"] + reading["width"] <= dock.bounding_box()["x"]
    assert reading["width"] >= 600

    # A task done in the page: "Mark as complete" says what is left without a reload.
    missing = page.locator("#module-missing")
    expect(missing).to_contain_text("(3 of 3 left)")
    task = page.locator("#lab-task-find-flag")
    task.get_by_label("Flag").fill(flag)
    task.get_by_role("button", name="Submit flag").click()
    expect(missing).to_contain_text("(2 of 3 left)")
    expect(page.get_by_role("button", name="Mark as complete")).to_be_disabled()

    # On a phone the terminal is a full-screen sheet; "Hide" goes back to the page.
    page.set_viewport_size(PHONE)
    expect(dock).to_have_js_property("offsetWidth", PHONE["width"])
    assert dock.bounding_box()["height"] == PHONE["height"]
    dock.get_by_role("button", name="Hide the terminal").click()
    expect(dock).to_be_hidden()

    page.set_viewport_size(DESKTOP)
    bar.get_by_role("button", name="Open terminal").click()  # back from the bar
    expect(dock).to_be_visible()
    page.locator("#lab-panel").get_by_role("button", name="Stop", exact=True).click()
    expect(bar.locator("[data-lab-bar-status]")).to_have_text("Stopped", timeout=30_000)
    expect(bar.get_by_role("button", name="Start the lab")).to_be_visible()
