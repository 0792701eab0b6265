"""The white cell's page in Chromium: a new timeline event shows without a reload, and an
inject is fired by hand for one team.

Its own app and server (on SQLite, whatever database the suite runs on): the exercise
needs the fixture team lab, and its centres and people must not meet the shared live
app's. Lab jobs stay queued (``external`` workers): no engine is needed.
"""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from lms.exercises.events import add_event
from lms.exercises.models import Exercise, Team, TeamTaskCompletion
from lms.extensions import db
from tests.conftest import PASSWORD
from tests.exercise_support import exercise_app, make_exercise


@pytest.fixture
def whitecell_server(tmp_path):
    app = exercise_app(
        tmp_path,
        LMS_DATABASE_URL=f"sqlite:///{tmp_path / 'whitecell.sqlite'}",
        LMS_LAB_WORKER="external",
        WTF_CSRF_ENABLED=True,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_white_cell_sees_new_events_live_and_fires_an_inject_by_hand(browser, whitecell_server):
    app, base = whitecell_server
    world = make_exercise(app, status="running")
    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto("/login")
        page.get_by_label("Email").fill(world.emails["inst_a"])
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)

        page.goto(world.url())
        expect(page.get_by_role("heading", name="Compromised web server")).to_be_visible()
        page.evaluate("window.__samePage = true")
        with app.app_context():
            exercise = db.session.get(Exercise, world.exercise_id)
            red = db.session.get(Team, world.teams["Red"])
            add_event(exercise, "flag-wrong", team=red, task_id="team-flag")
            db.session.commit()
        timeline = page.locator("[data-timeline-rows]")
        expect(timeline).to_contain_text("Wrong flag for Submit the flag from red's home")
        assert page.evaluate("window.__samePage") is True  # appended, not reloaded

        alarm = page.locator('tr[data-inject="alarm"]')
        alarm.get_by_label("For").select_option(label="Blue")
        alarm.get_by_role("button", name="Fire now").click()
        expect(page.get_by_role("alert")).to_contain_text("Inject fired for Blue.")
        expect(alarm.locator(f'[data-delivered-team="{world.teams["Blue"]}"]')).to_contain_text(
            "by hand"
        )
        expect(alarm.locator(f'[data-delivered-team="{world.teams["Red"]}"]')).to_contain_text(
            "not yet"
        )
        expect(timeline).to_contain_text("An alarm on the target (fired by hand)")

        # a task done meanwhile: its team's card and points follow without a reload
        page.evaluate("window.__samePage = true")
        red_card = page.locator(f'[data-team-card="{world.teams["Red"]}"]')
        expect(red_card.locator('[data-task="red-recon"]')).not_to_contain_text("by ")
        with app.app_context():
            exercise = db.session.get(Exercise, world.exercise_id)
            red = db.session.get(Team, world.teams["Red"])
            db.session.add(
                TeamTaskCompletion(
                    team_id=red.id, task_id="red-recon", user_id=world.users["t_a1"], points=10
                )
            )
            add_event(exercise, "task", team=red, task_id="red-recon", points=10)
            db.session.commit()
        expect(red_card.locator('[data-task="red-recon"]')).to_contain_text(
            "by Trainee a1", timeout=30_000
        )
        expect(page.locator(f'[data-team-card="{world.teams["Red"]}"]')).to_contain_text(
            "10 points"
        )
        assert page.evaluate("window.__samePage") is True
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
