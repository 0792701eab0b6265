"""A member's team page in the browser: the inject arrives, their terminal on their role's
workstation, a team check done and shown done.

The team's environment (team-mini) runs on the real engine under this module's own
session-key prefix and is swept afterwards.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from lms.extensions import db
from tests.browser.test_accessibility import AXE
from tests.browser.test_terminal import type_command, wait_screen
from tests.exercise_support import FIXTURE_LABS
from tests.lab_support import own_lab_prefix

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def team_exercise(live_app, docker_client):
    """A running exercise on team-mini with one team (blue, red) whose environment runs:
    (exercise id, red member's e-mail). Blue's is the session the team's environment
    belongs to; red gets a terminal in it too. The live app reads the fixture labs meanwhile."""
    from lms.auth.models import utcnow
    from lms.auth.services import create_user
    from lms.content.lab_library import clear_spec_cache, get_spec
    from lms.exercises import lifecycle
    from lms.exercises.models import RUNNING, Exercise, Team, TeamMember
    from lms.labs import app_runtime
    from lms.labs import services as lab_services
    from tests.conftest import PASSWORD

    labs_dir = live_app.config["LMS_LABS_DIR"]
    live_app.config["LMS_LABS_DIR"] = str(FIXTURE_LABS)
    with own_lab_prefix(live_app), live_app.app_context():
        clear_spec_cache()
        app_runtime.lab_image_builder().build(get_spec("team-mini"))
        stamp = int(time.time() * 1000)
        blue = create_user(f"blue{stamp}@example.org", PASSWORD, name="Bea Blue")
        red = create_user(f"red{stamp}@example.org", PASSWORD, name="Rui Red")
        now = utcnow()
        exercise = Exercise(
            title="Morning incident",
            lab_slug="team-mini",
            status=RUNNING,
            started_at=now,
            ends_at=now + timedelta(minutes=60),
        )
        db.session.add(exercise)
        db.session.flush()
        team = Team(exercise_id=exercise.id, name="Falcons")
        db.session.add(team)
        db.session.flush()
        for user, role in ((blue, "blue"), (red, "red")):
            db.session.add(
                TeamMember(team_id=team.id, exercise_id=exercise.id, user_id=user.id, role=role)
            )
        db.session.commit()
        assert lifecycle.start_team_environment(exercise, team) is None
        deadline = time.monotonic() + 120
        while team.lab_session.status != "running" and time.monotonic() < deadline:
            time.sleep(0.2)
            db.session.refresh(team.lab_session)
        assert team.lab_session.status == "running", team.lab_session.error
        yield exercise.id, red.email
        lab_services.stop_lab(db.session.get(Team, team.id).lab_session, reason="exercise-ended")
    with live_app.app_context():
        live_app.config["LMS_LABS_DIR"] = labs_dir
        clear_spec_cache()


def test_a_member_sees_the_inject_works_in_their_terminal_and_completes_a_task(
    page, sign_in, live_app, team_exercise, browser, live_server
):
    from lms.exercises import play
    from lms.exercises.models import Exercise, InjectDelivery

    exercise_id, email = team_exercise
    sign_in(page, email=email)
    page.goto(f"/exercises/{exercise_id}/team")

    # the minute-0 inject is there, its Markdown rendered
    injects = page.locator("#team-injects")
    expect(injects.locator("strong", has_text="Briefing")).to_be_visible()
    expect(page.locator("#team-new-inject")).to_be_hidden()  # nothing new since the page came
    expect(page.locator("#team-role-h")).to_have_text("Your role: Red operator")
    # the lab's scenario, not only the role's text
    expect(page.locator("[data-scenario]")).to_contain_text("Blue defends, red probes.")

    # one fired by hand meanwhile appears without reloading
    with live_app.app_context():
        play.fire_inject(db.session.get(Exercise, exercise_id), "alarm")
    expect(injects.locator(".team-inject").first).to_contain_text("An alarm on the target")
    # announced at the top of the window, where the member working in the terminal sees it
    banner = page.locator("#team-new-inject")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("New inject: An alarm on the target")
    banner.get_by_role("link", name="Read it").click()
    expect(banner).to_be_hidden()

    # the member's own terminal, on the red workstation (the session is blue's)
    wait_screen(page, r"~ \$ ")  # busybox sh in /home/red
    type_command(page, "ls ~ /home && echo 203.0.113.7 > recon.txt && echo saved-$((6*7))")
    screen = wait_screen(page, "saved-42").string
    assert "flag.txt" in screen and "briefing.txt" not in screen

    task = page.locator("#team-task-red-recon")
    task.get_by_role("button", name="Check our work").click()
    expect(task.locator(".team-task-state")).to_have_text("Done")
    expect(task.locator(".team-task-by")).to_have_text(re.compile(r"Done by Rui Red at \d\d:\d\d"))
    expect(page.locator("#team-members")).to_contain_text("Rui Red (you)")
    # beside the docked terminal the page is one column: the members table is not cut off
    members_table = page.locator("#team-members").locator("xpath=..")
    assert members_table.evaluate(
        "table => table.scrollWidth <= table.closest('.card-body').clientWidth"
    )

    # once the team's flag task is done, its hint is no longer offered (it would only cost)
    flag = page.locator("#team-task-team-flag")
    expect(flag.get_by_role("button", name=re.compile("Show a hint"))).to_be_visible()
    flag.get_by_label("Flag").fill(_team_flag(live_app, exercise_id))
    flag.get_by_role("button", name="Submit flag").click()
    expect(flag.locator(".team-task-state")).to_have_text("Done")
    expect(flag.get_by_role("button", name=re.compile("Show a hint"))).to_be_hidden()

    # a teammate saves the notes while the member types: nothing is overwritten
    page.locator("#team-notes").fill("recon: 203.0.113.7 scanned us")
    with live_app.app_context():
        team = db.session.get(Exercise, exercise_id).teams[0]
        teammate = next(m.user for m in team.members if m.role == "blue")
        play.save_notes(team, teammate, "blue: briefing read", team.notes_version)
    conflict = page.locator("#team-notes-conflict")
    expect(conflict).to_be_visible()
    expect(page.locator("#team-notes-theirs")).to_have_value("blue: briefing read")
    expect(page.locator("#team-notes")).to_have_value("recon: 203.0.113.7 scanned us")
    conflict.get_by_role("button", name="Add theirs below mine").click()
    page.get_by_role("button", name="Save notes").click()
    expect(page.locator("#team-notes-status")).to_have_text("Notes saved.")
    with live_app.app_context():
        saved = db.session.get(Exercise, exercise_id).teams[0].notes
    assert saved == "recon: 203.0.113.7 scanned us\n\nblue: briefing read"

    # a partner centre's member reads the injects' times in their own time zone
    with live_app.app_context():
        team = db.session.get(Exercise, exercise_id).teams[0]
        briefing = db.session.scalars(
            select(InjectDelivery).filter_by(team_id=team.id, inject_id="briefing")
        ).one()
        singapore_time = (briefing.fired_at + timedelta(hours=8)).strftime("%H:%M")
    far = browser.new_context(base_url=live_server, timezone_id="Asia/Singapore")
    try:
        far_page = far.new_page()
        sign_in(far_page, email=email)
        far_page.goto(f"/exercises/{exercise_id}/team")
        briefing_at = far_page.locator('[data-inject-id="briefing"] [data-utc]')
        expect(briefing_at).to_have_text(singapore_time)
    finally:
        far.close()

    # the page as it is now, its open terminal included, passes axe-core
    page.evaluate(AXE.read_text())
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}))"
        ".violations.filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    assert violations == []


def _team_flag(live_app, exercise_id: int) -> str:
    """The flag of the exercise's one team: derived from the member who owns its lab."""
    from lms.exercises.models import Exercise
    from lms.labs.flags import flag_for

    with live_app.app_context():
        team = db.session.get(Exercise, exercise_id).teams[0]
        return flag_for(team.lab_session.user_id, "team-mini")
