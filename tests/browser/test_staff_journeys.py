"""An instructor's and a centre admin's day in Chromium, at 1366x900 and on a phone
(390x844): each home shows their own work, the menu offers only what they can open, a
trainee is added with a clean form afterwards and a link to copy, and the dashboard
sorts its matrix."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from lms.auth.models import utcnow
from lms.extensions import db

DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
SIZES = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
_numbers = itertools.count(1)


@pytest.fixture
def programme(live_app, create_live_user):
    """A centre run by a centre admin, and its cohort taught by an instructor, with
    demo-course overdue by 2 days and linux-fundamentals due in 5, and one trainee."""
    from lms.auth.services import find_user_by_email
    from lms.catalog.models import Course
    from lms.centres import services

    n = next(_numbers)
    admin = create_live_user("centre_admin", name=f"Admin {n}")
    instructor = create_live_user("instructor", name=f"Instructor {n}")
    trainee = create_live_user("trainee", name=f"Stuck Trainee {n}")
    today = utcnow().date()
    with live_app.app_context():
        centre = services.create_centre(f"Staff centre {n}", "Estonia", slug=f"staff-centre-{n}")
        centre.admins.append(find_user_by_email(admin))
        cohort = services.create_cohort(centre, f"Staff cohort {n}")
        cohort.instructors.append(find_user_by_email(instructor))
        ids = dict(db.session.execute(db.select(Course.slug, Course.id)).all())
        services.assign_course(cohort, ids["demo-course"], today - timedelta(days=2))
        services.assign_course(cohort, ids["linux-fundamentals"], today + timedelta(days=5))
        services.join_cohort(find_user_by_email(trainee), cohort)
        db.session.commit()
        return {
            "n": n,
            "admin": admin,
            "instructor": instructor,
            "trainee": trainee,
            "cohort_id": cohort.id,
            "cohort": cohort.name,
            "centre": centre.name,
        }


def menu(page):
    """The main menu's links, opened first on a phone (behind the toggler)."""
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()
        expect(page.locator("#main-nav")).to_be_visible()
    return page.locator("#main-nav ul.navbar-nav").first


def assert_no_sideways_scroll(page):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page scrolls sideways by {overflow} px"


@pytest.mark.parametrize("size", SIZES)
def test_centre_admin_journey(page, sign_in, programme, size):
    page.set_viewport_size(size)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_in(page, email=programme["admin"])

    # Home: their centre, due dates coming up (the overdue one marked), their cohort.
    expect(page.get_by_role("heading", name="Your centres")).to_be_visible()
    expect(page.locator("#home-centres")).to_contain_text(programme["centre"])
    due = page.locator("#home-due")
    expect(due).to_contain_text("overdue by 2 days")
    expect(due).to_contain_text("in 5 days")
    expect(page.locator("#home-cohorts")).to_contain_text(programme["cohort"])
    assert_no_sideways_scroll(page)

    # The menu: what a centre admin opens, nothing that answers 403.
    links = menu(page)
    expect(links.get_by_role("link", name="Centres")).to_be_visible()
    expect(links.get_by_role("link", name="Authoring")).to_have_count(0)
    expect(links.get_by_role("link", name="Users")).to_have_count(0)

    # Add a trainee: the page that follows has a clean form and the link to copy.
    page.goto(f"/cohorts/{programme['cohort_id']}")
    email = f"new.trainee.{programme['n']}.{size['width']}@example.org"
    form = page.locator("#add-trainee-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Full name").fill("Ana Silva")
    form.get_by_role("button", name="Add the trainee").click()
    result = page.locator("#add-result")
    expect(result).to_contain_text(email)
    expect(form.get_by_label("Email")).to_have_value("")
    expect(form.get_by_label("Full name")).to_have_value("")
    link = page.locator("#invited-link").inner_text()
    result.get_by_role("button", name="Copy link").click()
    expect(result.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link
    page.reload()  # reloading adds nobody again
    expect(page.locator("#pending tr", has_text=email)).to_have_count(1)
    assert_no_sideways_scroll(page)

    # The invitee's form starts with the name the admin typed.
    invitee = page.context.browser.new_context(base_url=page.url.split("/cohorts")[0])
    try:
        form = invitee.new_page()
        form.goto("/invite/" + link.split("/invite/")[1])
        expect(form.get_by_label("Full name")).to_have_value("Ana Silva")
    finally:
        invitee.close()


@pytest.mark.parametrize("size", SIZES)
def test_instructor_journey(page, sign_in, programme, size):
    page.set_viewport_size(size)
    sign_in(page, email=programme["instructor"])

    # Home: their cohort with progress, who is stuck and why, running labs.
    expect(page.get_by_role("heading", name="Your cohorts")).to_be_visible()
    expect(page.locator("#home-cohorts")).to_contain_text(programme["cohort"])
    stuck = page.locator("#home-stuck")
    expect(stuck).to_contain_text(f"Stuck Trainee {programme['n']}")
    expect(stuck).to_contain_text("overdue")
    expect(page.get_by_role("heading", name="Labs running now")).to_be_visible()
    assert_no_sideways_scroll(page)

    # The menu names pages for what they are; "Flag sharing" opens flag sharing.
    links = menu(page)
    expect(links.get_by_role("link", name="Labs", exact=True)).to_have_count(0)
    links.get_by_role("link", name="Flag sharing").click()
    expect(page).to_have_url(re.compile(r"/labs/flag-shares$"))

    # The dashboard: module names head the matrix; the matrix sorts by progress.
    page.goto("/")
    page.locator("#home-cohorts").get_by_role("link", name="Dashboard").first.click()
    header = page.locator("#matrix thead th[data-module]").first
    expect(header).to_have_attribute("title", re.compile(r".+ \(.+\)"))
    expect(header.locator(".module-name")).not_to_be_empty()
    page.get_by_label("Sort by").select_option("progress")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"sort=progress"))
    expect(page.locator("#matrix-count")).to_contain_text("of 1")
