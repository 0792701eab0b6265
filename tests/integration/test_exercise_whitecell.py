"""The white cell: scores, the merged timeline (and whose commands a viewer may read),
firing injects by hand, the scoreboard's visibility, and the after-action report.

No engine: the teams' lab sessions, terminals, commands and events are database rows
written here, as the terminal and the play code would write them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.auth.models import utcnow
from lms.exercises import play
from lms.exercises.models import (
    Exercise,
    ExerciseEvent,
    InjectDelivery,
    Team,
    TeamTaskCompletion,
)
from lms.extensions import db
from lms.labs.models import LabSession
from lms.terminal.models import TerminalCommand, TerminalRecording
from tests.exercise_support import exercise_app, make_exercise, signed_in


@pytest.fixture
def app(tmp_path):
    # external lab workers: an inject's file or command stays queued (no engine here)
    app = exercise_app(tmp_path, LMS_LAB_WORKER="external")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def give_labs(app, world) -> dict[str, int]:
    """A running lab session per team (its first member the anchor): team name -> id."""
    sessions = {}
    with app.app_context():
        for name, team_id in world.teams.items():
            team = db.session.get(Team, team_id)
            lab = LabSession(
                key=f"test-ex-{team_id}",
                user_id=team.members[0].user_id,
                lab_slug="team-mini",
                status="running",
                started_at=utcnow(),
                expires_at=utcnow() + timedelta(hours=2),
            )
            db.session.add(lab)
            db.session.flush()
            team.lab_session_id = lab.id
            sessions[name] = lab.id
        db.session.commit()
        # the minute-0 briefing reaches every team as the start would deliver it
        play.fire_due_injects(db.session.get(Exercise, world.exercise_id))
    return sessions


def without_briefing(rows: list[dict]) -> list[dict]:
    return [row for row in rows if row["inject_id"] != "briefing"]


def type_command(app, session_id: int, user_id: int, text: str, at=None) -> int:
    with app.app_context():
        recording = db.session.scalar(
            select(TerminalRecording).where(
                TerminalRecording.session_id == session_id, TerminalRecording.user_id == user_id
            )
        )
        if recording is None:
            recording = TerminalRecording(
                session_id=session_id, user_id=user_id, terminal_key="t1", path="x.cast"
            )
            db.session.add(recording)
            db.session.flush()
        command = TerminalCommand(
            recording_id=recording.id, session_id=session_id, text=text, at=at or utcnow()
        )
        db.session.add(command)
        db.session.commit()
        return command.id


def add_event(app, world, team: str | None, kind: str, seconds: int, **fields) -> int:
    """An event ``seconds`` into the exercise (its clock equal: no pauses)."""
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        event = ExerciseEvent(
            exercise_id=exercise.id,
            team_id=world.teams[team] if team else None,
            kind=kind,
            at=exercise.started_at + timedelta(seconds=seconds),
            clock_seconds=seconds,
            **fields,
        )
        db.session.add(event)
        db.session.commit()
        return event.id


def complete(app, world, team: str, task_id: str, points: int, seconds: int, user: str):
    """A task done ``seconds`` into the exercise, with its timeline event."""
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        db.session.add(
            TeamTaskCompletion(
                team_id=world.teams[team],
                task_id=task_id,
                user_id=world.users[user],
                points=points,
                completed_at=exercise.started_at + timedelta(seconds=seconds),
            )
        )
        db.session.commit()
    add_event(
        app, world, team, "task", seconds, task_id=task_id, points=points, user_id=world.users[user]
    )


def scores(app, world):
    from lms.exercises.scoring import team_scores

    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        return [
            (s.team.name, s.points, s.tasks_done, s.tasks_total, s.penalties)
            for s in team_scores(exercise)
        ]


def test_scores_take_off_hint_penalties_and_equal_points_go_to_the_earlier_team(app):
    world = make_exercise(app, status="running")
    complete(app, world, "Red", "blue-report", 10, 60, "t_a1")
    complete(app, world, "Red", "red-recon", 10, 300, "t_b1")
    complete(app, world, "Blue", "red-recon", 10, 90, "t_a2")
    complete(app, world, "Blue", "blue-report", 10, 200, "t_b2")
    # 20 each: Blue got there first (its last task at 200 s, Red's at 300 s)
    assert scores(app, world) == [("Blue", 20, 2, 3, 0), ("Red", 20, 2, 3, 0)]

    add_event(app, world, "Blue", "hint", 250, task_id="team-flag", points=5)
    assert scores(app, world) == [("Red", 20, 2, 3, 0), ("Blue", 15, 2, 3, 5)]

    board = signed_in(app, world.emails["inst_a"]).get(
        world.url("/scoreboard"), headers={"Accept": "application/json"}
    )
    assert [(t["team"], t["points"], t["rank"]) for t in board.json["teams"]] == [
        ("Red", 20, 1),
        ("Blue", 15, 2),
    ]


def timeline_rows(client, world, after=""):
    response = client.get(world.url(f"/timeline.json?after={after}"))
    assert response.status_code == 200, response.status_code
    return response.json


def test_the_timeline_merges_commands_and_shows_their_text_only_to_the_trainees_own_staff(app):
    world = make_exercise(app, status="running")
    labs = give_labs(app, world)
    add_event(app, world, "Red", "inject", 5, inject_id="alarm", detail="by hand")
    with app.app_context():
        started = db.session.get(Exercise, world.exercise_id).started_at
    type_command(
        app, labs["Red"], world.users["t_a1"], "cat briefing.txt", started + timedelta(seconds=65)
    )
    type_command(
        app, labs["Red"], world.users["t_b1"], "nmap 10.0.0.0/24", started + timedelta(seconds=70)
    )

    # inst_a teaches A (t_a1), created the exercise; inst_b teaches B (t_b1), partner centre
    alpha_staff = timeline_rows(signed_in(app, world.emails["inst_a"]), world)
    rows = alpha_staff["rows"]
    assert [(r["kind"], r["team"], r["clock"]) for r in rows[:2]] == [
        ("inject", "Blue", "00:00"),
        ("inject", "Red", "00:00"),
    ]
    assert rows[0]["text"] == "The morning briefing (on schedule)"  # fired by the clock
    kinds = [(r["kind"], r["team"], r["clock"]) for r in without_briefing(rows)]
    assert kinds == [
        ("inject", "Red", "00:05"),
        ("command", "Red", "01:05"),
        ("command", "Red", "01:10"),
    ]
    own, partners = without_briefing(rows)[1:]
    assert own["text"] == "cat briefing.txt" and own["email"] == world.emails["t_a1"]
    assert own["who"] == "Trainee a1 (Alpha Centre)" and own["role"] == "Blue analyst"
    assert "nmap" not in alpha_staff["html"] and world.emails["t_b1"] not in alpha_staff["html"]
    assert partners["text"] == "a command by Trainee b1 (Beta Centre)" and partners["email"] is None

    beta_staff = timeline_rows(signed_in(app, world.emails["inst_b"]), world)
    texts = [r["text"] for r in beta_staff["rows"]]
    assert "nmap 10.0.0.0/24" in texts and "cat briefing.txt" not in texts
    assert "a command by Trainee a1 (Alpha Centre)" in texts

    # the white cell's page shows the same, and polls for what is new only
    page = signed_in(app, world.emails["inst_b"]).get(world.url())
    body = page.get_data(as_text=True)
    assert "nmap 10.0.0.0/24" in body and "cat briefing.txt" not in body
    cursor = alpha_staff["cursor"]
    client = signed_in(app, world.emails["inst_a"])
    seen = {r["key"] for r in alpha_staff["rows"]}  # the page skips rows it holds

    def fresh(answer):
        return [r for r in answer["rows"] if r["key"] not in seen]

    assert fresh(timeline_rows(client, world, cursor)) == []
    type_command(app, labs["Blue"], world.users["t_a2"], "whoami")
    add_event(
        app, world, "Blue", "flag-wrong", 400, task_id="team-flag", user_id=world.users["t_b2"]
    )
    newer = timeline_rows(client, world, cursor)
    assert sorted((r["kind"], r["team"], r["text"]) for r in fresh(newer)) == [
        ("command", "Blue", "whoami"),
        ("flag-wrong", "Blue", "Wrong flag for Submit the flag from red's home"),
    ]
    seen |= {r["key"] for r in newer["rows"]}
    assert fresh(timeline_rows(client, world, newer["cursor"])) == []

    # Ids are taken before commit: a row that commits after the page's cursor went past
    # its id still reaches the page.
    now = int((utcnow() - started).total_seconds())
    late = add_event(app, world, "Red", "hint", now, task_id="team-flag", points=5)
    ahead = timeline_rows(client, world, f"e{late + 10}-c{late + 10}")
    assert [r["kind"] for r in fresh(ahead)] == ["hint"]
    assert fresh(ahead)[0]["text"] == "Hint for Submit the flag from red's home (−5 points)"
    free = add_event(app, world, "Red", "hint", now, task_id="red-recon", points=0)
    free_rows = timeline_rows(client, world, f"e{free - 1}-c{free + 10}")["rows"]
    # a free hint is not "−0 points"
    assert [r["text"] for r in free_rows if r["kind"] == "hint"][-1] == (
        "Hint for Save your notes to ~/recon.txt"
    )


def csrf_token(client, world) -> str:
    page = client.get(world.url()).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page)[1]


def test_firing_an_inject_by_hand_needs_the_white_cell_and_a_csrf_token(app):
    world = make_exercise(app, status="running")
    give_labs(app, world)
    fire = world.url("/injects/alarm/fire")
    assert signed_in(app, world.emails["t_a1"]).post(fire).status_code == 403  # a member
    assert signed_in(app, world.emails["inst_c"]).post(fire).status_code == 404  # a stranger

    client = signed_in(app, world.emails["inst_b"])
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token(client, world)
    assert client.post(fire).status_code == 400  # no token
    with app.app_context():
        alarms = select(InjectDelivery).where(InjectDelivery.inject_id == "alarm")
        assert db.session.scalars(alarms).all() == []

    response = client.post(fire, data={"csrf_token": token, "team_id": "Blue"})
    assert response.status_code == 302  # back with "That team is not in this exercise."
    response = client.post(fire, data={"csrf_token": token, "team_id": world.teams["Blue"]})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Inject fired for Blue." in page
    response = client.post(fire, data={"csrf_token": token}, follow_redirects=True)
    assert "Inject fired for Red." in response.get_data(as_text=True)
    response = client.post(fire, data={"csrf_token": token}, follow_redirects=True)
    assert "nothing was sent again" in response.get_data(as_text=True)
    assert (
        client.post(world.url("/injects/no-such/fire"), data={"csrf_token": token}).status_code
        == 302
    )  # back with the message

    with app.app_context():
        delivered = db.session.scalars(alarms.order_by(InjectDelivery.id)).all()
        assert [(d.team_id, d.inject_id) for d in delivered] == [
            (world.teams["Blue"], "alarm"),
            (world.teams["Red"], "alarm"),
        ]
        assert all(d.fired_by_id == world.users["inst_b"] for d in delivered)
        audited = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "exercise.inject")
        ).all()
        assert len(audited) == 3 and audited[0].actor_email == world.emails["inst_b"]
        assert '"to": ["Blue"]' in audited[0].detail
    rows = without_briefing(timeline_rows(client, world)["rows"])
    assert [r["text"] for r in rows if r["kind"] == "inject"] == [
        "An alarm on the target (fired by hand)"
    ] * 2


def test_the_report_gives_time_to_finding_and_its_csv_is_audited(app):
    world = make_exercise(app, status="running")
    labs = give_labs(app, world)
    add_event(app, world, "Red", "inject", 120, inject_id="alarm", detail="by hand")
    complete(app, world, "Red", "red-recon", 10, 425, "t_b1")
    add_event(
        app, world, "Red", "hint", 500, task_id="team-flag", points=5, user_id=world.users["t_a1"]
    )
    with app.app_context():
        started = db.session.get(Exercise, world.exercise_id).started_at
    type_command(
        app, labs["Red"], world.users["t_a1"], "ls -la /tmp", started + timedelta(seconds=300)
    )
    type_command(
        app, labs["Red"], world.users["t_b1"], "cat /tmp/alarm", started + timedelta(seconds=400)
    )

    client = signed_in(app, world.emails["inst_a"])
    page = client.get(world.url(f"/report?team={world.teams['Red']}")).get_data(as_text=True)
    finding = re.search(r"<tr><td>Save your notes to ~/recon.txt</td>.*?</tr>", page, re.S)[0]
    assert "Trainee b1 (Beta Centre)" in finding
    assert ">07:05<" in finding  # time to finding on the exercise clock
    assert "05:05" in finding and "An alarm on the target" in finding  # since the inject
    assert "Rank 1 of 2 · 5 points" in page  # 10 for the task, −5 for the hint
    assert "ls -la /tmp" in page and "cat /tmp/alarm" not in page
    assert f'data-report-team="{world.teams["Blue"]}"' not in page

    response = client.get(world.url("/report.csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    red = [r for r in rows if r["team"] == "Red" and r["inject"] != "briefing"]
    assert [(r["clock"], r["kind"], r["who"]) for r in red] == [
        ("02:00", "inject", ""),
        ("05:00", "command", "Trainee a1"),  # t_b1's command is left out for alpha's staff
        ("07:05", "task", "Trainee b1"),
        ("08:20", "hint", "Trainee a1"),
    ]
    assert red[1]["detail"] == "ls -la /tmp" and red[2]["centre"] == "Beta Centre"
    assert red[2]["task"] == "red-recon" and red[2]["points"] == "10"
    assert red[0]["at (UTC, ISO 8601)"].startswith(str(started.date()))
    with app.app_context():
        audit = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export.csv")
        ).one()
        assert audit.actor_email == world.emails["inst_a"] and "exercise" in audit.target


def test_members_read_their_own_teams_report_after_the_end_and_strangers_nothing(app):
    world = make_exercise(app, status="running", scoreboard="after")
    member = signed_in(app, world.emails["t_a1"])
    assert member.get(world.url("/report")).status_code == 403
    assert member.get(world.url("/scoreboard")).status_code == 404  # "after": not yet
    page = member.get(world.url())
    assert page.status_code == 302 and page.headers["Location"].endswith(world.url("/team"))
    assert member.get(world.url("/timeline.json")).status_code == 404

    stranger = signed_in(app, world.emails["inst_c"])
    outsider = signed_in(app, world.emails["t_c1"])
    for client in (stranger, outsider):
        for suffix in ("", "/timeline.json", "/scoreboard", "/report", "/report.csv"):
            assert client.get(world.url(suffix)).status_code == 404, suffix

    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        exercise.status, exercise.ended_at = "ended", utcnow()
        db.session.commit()
    assert member.get(world.url("/scoreboard")).status_code == 200
    # ended before its planned end: no time left on the member's page
    assert member.get(world.url("/team/state.json")).get_json()["exercise"]["left_seconds"] == 0
    # and its page says the environment is gone, not that a terminal will open
    assert "data-environment-ended" in member.get(world.url("/team")).get_data(as_text=True)
    report = member.get(world.url("/report")).get_data(as_text=True)
    assert 'href="/exercises"' in report  # the way back to the list of exercises
    assert "<li>Submit the flag from red&#39;s home</li>" in report  # not done: one a line
    teams_page = signed_in(app, world.emails["inst_a"]).get(world.url("/teams"))
    assert "data-report-link" in teams_page.get_data(as_text=True)  # the ended teams page leads on
    assert f'data-report-team="{world.teams["Red"]}"' in report
    assert f'data-report-team="{world.teams["Blue"]}"' not in report
    csv_text = member.get(world.url("/report.csv")).get_data(as_text=True)
    assert "Blue" not in csv_text


@pytest.mark.parametrize(
    ("setting", "running", "ended"), [("live", 200, 200), ("after", 404, 200), ("hidden", 404, 404)]
)
def test_a_member_sees_the_scoreboard_only_as_the_exercise_says(app, setting, running, ended):
    world = make_exercise(app, status="running", scoreboard=setting)
    member = signed_in(app, world.emails["t_b2"])
    assert member.get(world.url("/scoreboard")).status_code == running
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        exercise.status, exercise.ended_at = "ended", utcnow()
        db.session.commit()
    assert member.get(world.url("/scoreboard")).status_code == ended
    staff = signed_in(app, world.emails["inst_b"])
    board = staff.get(world.url("/scoreboard"))
    assert board.status_code == 200
    # opened in a browser it is a page of the site leading back to the control room
    html = board.get_data(as_text=True)
    assert "<title>" in html and f'href="{world.url()}"' in html and "data-scoreboard" in html
    assert f'href="{world.url("/scoreboard")}"' in staff.get(world.url()).get_data(as_text=True)
    fragment = staff.get(world.url("/scoreboard?fragment=1")).get_data(as_text=True)
    assert "<title>" not in fragment and "data-scoreboard" in fragment


def page_form(page: str, action: str) -> dict[str, str]:
    """The fields of the page's form posting to ``action`` (names and values)."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)[0]
    return dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))


def test_the_pages_controls_pause_and_extend_the_exercise(app):
    world = make_exercise(app, status="running")
    client = signed_in(app, world.emails["inst_a"])
    app.config["WTF_CSRF_ENABLED"] = True
    with app.app_context():
        ends_at = db.session.get(Exercise, world.exercise_id).ends_at
    page = client.get(world.url()).get_data(as_text=True)
    extend = client.post(
        world.url("/extend"), data=page_form(page, world.url("/extend")), follow_redirects=True
    )
    assert "The exercise has 15 more minutes." in extend.get_data(as_text=True)
    pause = client.post(
        world.url("/pause"), data=page_form(page, world.url("/pause")), follow_redirects=True
    )
    paused = pause.get_data(as_text=True)
    assert 'data-exercise-status="paused"' in paused and world.url("/resume") in paused
    assert re.search(r"data-left>1:1[45]:\d\d<", paused)  # 75 minutes left, not "74:59"
    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        assert exercise.ends_at == ends_at + timedelta(minutes=15)
        assert exercise.status == "paused"
