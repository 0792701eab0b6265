"""Playing a team exercise on the real engine: injects reach the team's lab once, a team's
checks and flags, the notes pad, and who may see the team page.

One team environment (team-mini, Red) is started for the whole module; Blue never starts.
"""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from lms.content.lab_parser import load_lab
from lms.extensions import db
from lms.labs import app_runtime
from lms.labs.flags import flag_for
from lms.labs.models import RUNNING
from tests.exercise_support import FIXTURE_LABS, exercise_app, make_exercise, signed_in
from tests.lab_support import close_lab_app, new_prefix

pytestmark = pytest.mark.docker

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def played(tmp_path_factory, docker_client):
    """A running exercise whose Red team's environment runs: (app, world)."""
    from lms.exercises import lifecycle
    from lms.exercises.models import Exercise, Team
    from lms.labs.runtime import get_image_builder

    get_image_builder().build(load_lab(FIXTURE_LABS / "team-mini"))
    app = exercise_app(tmp_path_factory.mktemp("play"), LMS_LAB_SESSION_PREFIX=new_prefix())
    world = make_exercise(app, status="running")
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        red = db.session.get(Team, world.teams["Red"])
        assert lifecycle.start_team_environment(exercise, red) is None
        deadline = time.monotonic() + 120
        while red.lab_session.status != RUNNING and time.monotonic() < deadline:
            time.sleep(0.2)
            db.session.refresh(red.lab_session)
        assert red.lab_session.status == RUNNING, red.lab_session.error
    yield app, world
    close_lab_app(app)


def in_lab(app, world, container: str, command: str, user: str = "0"):
    """Run a command in Red's lab (as a test, not as the platform)."""
    from lms.exercises.models import Team

    with app.app_context():
        key = db.session.get(Team, world.teams["Red"]).lab_session.key
        return app_runtime.lab_runtime().run_check(key, container, command, 20, user)


def wait_delivered(app, delivery_id: int) -> str:
    from lms.exercises.models import InjectDelivery

    with app.app_context():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivery = db.session.get(InjectDelivery, delivery_id)
            db.session.refresh(delivery)
            if delivery.status != "pending":
                return delivery.status
            db.session.commit()
            time.sleep(0.1)
        return "pending"


def test_a_timed_inject_reaches_the_team_once_and_writes_its_file(played):
    from lms.exercises import play
    from lms.exercises.models import Exercise, ExerciseEvent, InjectDelivery

    app, world = played
    start = threading.Barrier(2)

    def sweep():  # two processes' sweeps at the same moment
        with app.app_context():
            start.wait()
            play.fire_due_injects(db.session.get(Exercise, world.exercise_id))

    sweeps = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in sweeps:
        thread.start()
    for thread in sweeps:
        thread.join()

    with app.app_context():
        deliveries = list(db.session.scalars(select(InjectDelivery)))
        assert [(d.team_id, d.inject_id) for d in deliveries] == [
            (world.teams["Red"], "briefing")  # Blue's environment does not run
        ]
        events = db.session.scalar(
            select(func.count()).where(ExerciseEvent.kind == "inject").select_from(ExerciseEvent)
        )
        assert events == 1
        delivery_id = deliveries[0].id
    assert wait_delivered(app, delivery_id) == "done"
    briefing = in_lab(app, world, "blue", "cat /home/blue/briefing.txt", user="blue")
    assert "203.0.113.7" in briefing.output

    page = signed_in(app, world.emails["t_a1"]).get(world.url("/team/state.json")).get_json()
    assert [i["id"] for i in page["injects"]] == ["briefing"]
    assert "<strong>Briefing</strong>" in page["injects"][0]["message_html"]


def test_an_inject_fired_by_hand_runs_its_command(played):
    from lms.auth.models import User
    from lms.exercises import play
    from lms.exercises.models import Exercise, ExerciseEvent

    app, world = played
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        by = db.session.get(User, world.users["inst_a"])
        fired = play.fire_inject(exercise, "alarm", team_ids=[world.teams["Red"]], by=by)
        assert len(fired) == 1
        assert play.fire_inject(exercise, "alarm", team_ids=[world.teams["Red"]], by=by) == []
        delivery_id = fired[0].id
        event = db.session.scalar(select(ExerciseEvent).where(ExerciseEvent.inject_id == "alarm"))
        assert event.detail == "by hand"
    assert wait_delivered(app, delivery_id) == "done"
    assert in_lab(app, world, "target", "cat /tmp/alarm").output.strip() == "compromised"

    # Blue has no environment: its message is delivered, its command fails on the timeline
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        blue = [world.teams["Blue"]]
        [to_blue] = play.fire_inject(exercise, "alarm", team_ids=blue)
        delivery_id = to_blue.id
    assert wait_delivered(app, delivery_id) == "failed"
    with app.app_context():
        failed = db.session.scalar(
            select(ExerciseEvent).where(ExerciseEvent.kind == "inject-failed")
        )
        assert failed.team_id == world.teams["Blue"] and "not running" in failed.detail
    blue_page = signed_in(app, world.emails["t_a2"]).get(world.url("/team/state.json"))
    assert [i["id"] for i in blue_page.get_json()["injects"]] == ["alarm"]


def test_a_team_check_fails_then_passes_once_the_work_is_done(played):
    from lms.exercises.models import Exercise

    app, world = played
    red_member = signed_in(app, world.emails["t_b1"])
    check = world.url("/team/tasks/red-recon/check")

    with app.app_context():  # paused: refused with a clear message
        exercise = db.session.get(Exercise, world.exercise_id)
        exercise.status = "paused"
        db.session.commit()
    paused = red_member.post(check, headers=JSON)
    assert paused.status_code == 409
    assert paused.get_json()["message"] == "The exercise is paused."
    with app.app_context():
        db.session.get(Exercise, world.exercise_id).status = "running"
        db.session.commit()

    failed = red_member.post(check, headers=JSON).get_json()
    assert failed["ok"] is False and "Not yet" in failed["message"]

    assert in_lab(app, world, "red", "echo 10.0.0.5 > ~/recon.txt", user="red").passed
    passed = red_member.post(check, headers=JSON).get_json()
    assert passed["ok"] is True
    task = next(t for t in passed["state"]["tasks"] if t["id"] == "red-recon")
    assert task["done"] and task["done_by"] == "Trainee b1"
    # a teammate sees it done too
    state = signed_in(app, world.emails["t_a1"]).get(world.url("/team/state.json")).get_json()
    assert next(t for t in state["tasks"] if t["id"] == "red-recon")["done"]


def test_a_flag_of_another_team_is_refused(played):
    app, world = played
    member = signed_in(app, world.emails["t_a1"])
    flag = world.url("/team/tasks/team-flag/flag")
    with app.app_context():
        blue_flag = flag_for(world.users["t_a2"], "team-mini")
    wrong = member.post(flag, data={"flag": blue_flag}, headers=JSON).get_json()
    assert wrong["ok"] is False
    assert not next(t for t in wrong["state"]["tasks"] if t["id"] == "team-flag")["done"]

    own = in_lab(app, world, "red", "cat ~/flag.txt", user="red").output.strip()
    right = member.post(flag, data={"flag": own}, headers=JSON).get_json()
    assert right["ok"] is True, (own, right["message"])

    # wrong flags are limited per team: ten in a minute, then a wait
    teammate = signed_in(app, world.emails["t_b1"])
    for n in range(9):
        assert (
            teammate.post(flag, data={"flag": f"FLAG{{guess{n}}}"}, headers=JSON).status_code == 200
        )
    limited = member.post(flag, data={"flag": "FLAG{one-more}"}, headers=JSON)
    assert limited.status_code == 429
    assert "Too many wrong flags" in limited.get_json()["message"]


def test_a_stale_notes_save_is_refused_with_the_current_text(played):
    app, world = played
    first, second = signed_in(app, world.emails["t_a1"]), signed_in(app, world.emails["t_b1"])
    version = first.get(world.url("/team/state.json")).get_json()["notes"]["version"]
    saved = first.post(
        world.url("/team/notes"), data={"version": version, "notes": "IP 203.0.113.7"}, headers=JSON
    )
    assert saved.status_code == 200
    stale = second.post(
        world.url("/team/notes"), data={"version": version, "notes": "web01 owned"}, headers=JSON
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["notes"] == "IP 203.0.113.7" and body["saved_by"] == "Trainee a1"
    assert body["version"] == version + 1

    # without JavaScript: the page again, with both texts
    page = second.post(world.url("/team/notes"), data={"version": version, "notes": "web01 owned"})
    assert page.status_code == 409
    assert "web01 owned" in page.get_data(as_text=True)
    assert "IP 203.0.113.7" in page.get_data(as_text=True)


def test_people_outside_the_team_get_404(played):
    app, world = played
    outsider = signed_in(app, world.emails["t_c1"])
    assert outsider.get(world.url("/team")).status_code == 404
    assert outsider.get(world.url("/team/state.json")).status_code == 404
    check = outsider.post(world.url("/team/tasks/red-recon/check"), headers=JSON)
    assert check.status_code == 404
    # the white cell lands on its control room
    staff = signed_in(app, world.emails["inst_a"]).get(world.url("/team"))
    assert staff.status_code == 302 and staff.headers["Location"] == world.url()
