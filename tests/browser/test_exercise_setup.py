"""Forming an exercise's teams in a real browser, with CSRF protection on: an instructor
creates an exercise for their cohort and a partner centre's, mixes the centres into
teams, moves a trainee by hand, and sees a bad CSV file's lines reported with nothing
changed. (Starting it on the engine is tests/browser/test_exercise_journey.py.)"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from lms.auth.services import create_user
from lms.centres import services as centres
from lms.content import lab_library
from lms.extensions import db
from tests.conftest import PASSWORD
from tests.exercise_support import FIXTURE_LABS, TEAM_LAB

pytestmark = pytest.mark.browser


@pytest.fixture
def fixture_labs(live_app):
    previous = live_app.config["LMS_LABS_DIR"]
    live_app.config["LMS_LABS_DIR"] = str(FIXTURE_LABS)
    with live_app.app_context():
        lab_library.clear_spec_cache()
    yield live_app
    live_app.config["LMS_LABS_DIR"] = previous
    with live_app.app_context():
        lab_library.clear_spec_cache()


def _partners(app) -> dict[str, str]:
    """East and West (partners), a cohort each with two trainees, East's instructor."""
    tag = uuid.uuid4().hex[:6]
    people = {"tag": tag}
    with app.app_context():
        east = centres.create_centre(f"East {tag}", "Estonia", slug=f"east-{tag}")
        west = centres.create_centre(f"West {tag}", "Chile", slug=f"west-{tag}")
        west.partners = [east]  # one direction is enough to run exercises together
        cohorts = {
            "e": centres.create_cohort(east, f"Cohort E {tag}"),
            "w": centres.create_cohort(west, f"Cohort W {tag}"),
        }
        db.session.flush()
        instructor = create_user(
            f"inst-{tag}@example.org", PASSWORD, role="instructor", centre_id=east.id
        )
        cohorts["e"].instructors.append(instructor)
        people["instructor"] = instructor.email
        for key in ("e1", "e2", "w1", "w2"):
            cohort = cohorts[key[0]]
            trainee = create_user(
                f"{key}-{tag}@example.org",
                PASSWORD,
                name=f"Trainee {key} {tag}",
                centre_id=cohort.centre_id,
            )
            centres.join_cohort(trainee, cohort)
            people[key] = trainee.email
        db.session.commit()
    return people


def test_an_instructor_creates_an_exercise_and_forms_mixed_teams(fixture_labs, page, sign_in):
    people = _partners(fixture_labs)
    tag = people["tag"]
    sign_in(page, email=people["instructor"])
    page.get_by_role("link", name="Exercises", exact=True).click()
    page.get_by_role("link", name="New exercise").click()
    page.get_by_label("Title").fill(f"Evening drill {tag}")
    page.get_by_label("Team lab").select_option(TEAM_LAB)
    page.get_by_label(f"Cohort E {tag}").check()
    page.get_by_label(f"Cohort W {tag}").check()
    page.get_by_role("button", name="Create the exercise").click()
    expect(page.locator(".alert-success")).to_contain_text("now form its teams")
    expect(page.locator("[data-unplaced]")).to_contain_text(f"Trainee w1 {tag} · West {tag}")

    # Teams of two, each with a trainee of each centre; roles in the lab's order.
    page.get_by_label("Trainees per team").fill("2")
    page.get_by_role("button", name="Mix centres automatically").click()
    expect(page.locator(".alert-success")).to_contain_text("2 teams formed")
    for name in ("Team 1", "Team 2"):
        team = page.locator(f'[data-team="{name}"]')
        expect(team.locator("tbody tr")).to_have_count(2)
        expect(team).to_contain_text(f"East {tag}")
        expect(team).to_contain_text(f"West {tag}")
        expect(team.locator("[data-role]")).to_have_text(["Blue analyst", "Red operator"])
    # The partner centre's trainees show by name and centre, never their e-mail.
    expect(page.get_by_text(people["e1"])).to_be_visible()
    expect(page.get_by_text(people["w1"])).to_have_count(0)

    # By hand: move a trainee of Team 2 into Team 1.
    row = page.locator('[data-team="Team 2"] tbody tr').first
    moving = row.get_attribute("data-member")
    row.get_by_label("Team").select_option(label="Team 1")
    row.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text(f"{moving} is in team “Team 1”")
    expect(page.locator('[data-team="Team 1"] tbody tr')).to_have_count(3)
    # Every member's Remove button shows inside the team's card (not scrolled off its side),
    # on a phone too.
    page.set_viewport_size({"width": 600, "height": 900})
    for team_name in ("Team 1", "Team 2"):
        card = page.locator(f'[data-team="{team_name}"]').bounding_box()
        for remove in (
            page.locator(f'[data-team="{team_name}"] tbody')
            .get_by_role("button", name="Remove")
            .all()
        ):
            box = remove.bounding_box()
            assert box["x"] + box["width"] <= card["x"] + card["width"], team_name
    page.set_viewport_size({"width": 1280, "height": 900})

    # A file with a bad line: every problem listed, nothing moved.
    bad = f"{people['e1']},Team 2,blue\nnobody-{tag}@example.org,Team 2,red\n"
    page.get_by_label("CSV file (email,team,role)").set_input_files(
        {"name": "teams.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    page.get_by_role("button", name="Upload and apply").click()
    problems = page.locator("[data-csv-problems]")
    expect(problems).to_contain_text("Nothing was changed")
    expect(problems).to_contain_text("Line 2: no trainee of the exercise's cohorts")
    expect(page.locator('[data-team="Team 1"] tbody tr')).to_have_count(3)

    # The list of exercises leads back to it.
    page.get_by_role("link", name="Exercises", exact=True).first.click()
    expect(page.locator("[data-exercises]")).to_contain_text(f"Evening drill {tag}")
    expect(page).to_have_url(re.compile(r"/exercises$"))
