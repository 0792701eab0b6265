"""Setting up a team exercise: who sees it, creating one, forming teams (by hand, from a
CSV file, mixed across centres), and its life on the real engine (start, pause, extend,
end, the end sweep)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from lms.extensions import db
from tests.exercise_support import (
    FIXTURE_LABS,
    exercise_app,
    make_exercise,
    signed_in,
)
from tests.lab_support import close_lab_app, new_prefix, wait_removed


@pytest.fixture
def app(tmp_path):
    app = exercise_app(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _get(app, model, ident):
    return db.session.get(model, ident)


def _teams(app, world) -> dict[str, list[tuple[str, str]]]:
    """{team name: [(trainee e-mail, role)]} as stored."""
    from lms.exercises.models import Exercise

    with app.app_context():
        exercise = db.session.get(Exercise, world.exercise_id)
        return {
            team.name: [(m.user.email, m.role) for m in team.members] for team in exercise.teams
        }


# -- who sees what -----------------------------------------------------------------------------


def test_an_exercise_is_seen_by_its_centres_staff_and_members_only(app):
    from lms.auth.models import User
    from lms.exercises import teams
    from lms.exercises.models import Exercise

    world = make_exercise(app)
    with app.app_context():  # a second exercise, of gamma's cohort, with t_c1 in it
        inst_c = db.session.get(User, world.users["inst_c"])
        other = teams.create_exercise(inst_c, "Gamma drill", "team-mini", [world.cohorts["C"]])
        team = teams.add_team(other, "Solo", inst_c)
        teams.put_member(other, team, db.session.get(User, world.users["t_c1"]), "blue", inst_c)
        other_id = other.id
        assert db.session.get(Exercise, other_id).teams[0].members[0].role == "blue"
    teams_page = world.url("/teams")

    for key in ("inst_a", "inst_b", "admin_a", "admin_b", "admin"):
        client = signed_in(app, world.emails[key])
        assert client.get(teams_page).status_code == 200, key
        listed = client.get("/exercises").get_data(as_text=True)
        assert "Compromised web server" in listed, key
        assert ("Gamma drill" in listed) == (key == "admin"), key
    for key in ("admin_c", "inst_c", "t_c1"):  # another centre's staff, another exercise's trainee
        client = signed_in(app, world.emails[key])
        assert client.get(teams_page).status_code == 404, key
        assert client.post(world.url("/start")).status_code == 404, key
        assert "Compromised web server" not in client.get("/exercises").get_data(as_text=True)
    member = signed_in(app, world.emails["t_a1"])
    assert member.get(f"/exercises/{other_id}/teams").status_code == 404
    # a member is sent to their team's page, and may not run the exercise
    assert member.get(teams_page).headers["Location"].endswith(world.url("/team"))
    assert member.post(world.url("/start")).status_code == 403
    mine = member.get("/exercises").get_data(as_text=True)
    assert "Team: Red" in mine and world.url("/team") in mine and "Gamma drill" not in mine


def test_e_mails_show_only_to_staff_who_may_see_that_trainee(app):
    world = make_exercise(app)
    pages = {
        key: signed_in(app, world.emails[key]).get(world.url("/teams")).get_data(as_text=True)
        for key in ("inst_a", "inst_b", "admin")
    }
    # everyone sees every member by name and centre
    for html in pages.values():
        assert "Trainee a1" in html and "Trainee b1" in html
        assert "Alpha Centre" in html and "Beta Centre" in html
    assert "t-a1@example.org" in pages["inst_a"] and "t-b1@example.org" not in pages["inst_a"]
    assert "t-b1@example.org" in pages["inst_b"] and "t-a1@example.org" not in pages["inst_b"]
    assert "t-a1@example.org" in pages["admin"] and "t-b1@example.org" in pages["admin"]


# -- creating ---------------------------------------------------------------------------------------


def test_creating_an_exercise_for_own_and_partner_cohorts(app):
    from lms.auth.models import User
    from lms.exercises import teams
    from lms.exercises.models import Exercise

    world = make_exercise(app, teams={})
    client = signed_in(app, world.emails["inst_a"])
    form = client.get("/exercises/new").get_data(as_text=True)
    assert "A (Alpha Centre)" in form and "B (Beta Centre)" in form  # a partner's cohort
    assert "C (Gamma Centre)" not in form  # gamma is no partner
    assert "Team mini exercise" in form and "Tiny lab" not in form  # team labs only

    created = client.post(
        "/exercises/new",
        data={
            "title": "Night shift",
            "lab": "team-mini",
            "cohorts": [world.cohorts["A"], world.cohorts["B"]],
            "scoreboard": "after",
        },
    )
    assert created.status_code == 302
    with app.app_context():
        exercise = db.session.scalar(select(Exercise).where(Exercise.title == "Night shift"))
        assert exercise.status == "draft" and exercise.scoreboard == "after"
        assert exercise.duration_minutes == 30  # the lab's ttl_minutes
        assert [c.name for c in exercise.cohorts] == ["A", "B"]
        assert created.headers["Location"].endswith(f"/exercises/{exercise.id}/teams")

        inst_a = db.session.get(User, world.users["inst_a"])
        refusals = {
            "another centre's cohort": (["C"], "team-mini"),
            "a partner's cohort alone": (["B"], "team-mini"),
            "a solo lab": (["A"], "tiny-lab"),
        }
        for why, (cohorts, lab) in refusals.items():
            with pytest.raises(teams.TeamError):
                teams.create_exercise(inst_a, why, lab, [world.cohorts[c] for c in cohorts])
        assert db.session.scalar(select(Exercise).where(Exercise.title.in_(refusals))) is None

    refused = client.post(
        "/exercises/new",
        data={"title": "X", "lab": "team-mini", "cohorts": [world.cohorts["C"]]},
    )
    assert refused.status_code == 400
    # staff of a centre with no partner and no cohort of theirs in it cannot see the form's cohorts
    trainee = signed_in(app, world.emails["t_a1"])
    assert trainee.get("/exercises/new").status_code == 403


# -- teams by hand ------------------------------------------------------------------------------------


def test_teams_by_hand_add_put_move_rename_remove_with_audit(app):
    from lms.audit.models import AuditEvent

    world = make_exercise(app, teams={"Red": ["t_a1"]})
    client = signed_in(app, world.emails["inst_a"])
    page = world.url("/teams")
    assert client.post(page, data={"action": "add-team", "team-name": "Blue"}).status_code == 302
    with app.app_context():
        from lms.exercises.models import Team

        blue = db.session.scalar(select(Team).where(Team.name == "Blue")).id
    put = {"action": "put-member", "put-user": world.users["t_b1"], "put-team": blue}
    assert client.post(page, data={**put, "put-role": "red"}).status_code == 302
    assert _teams(app, world)["Blue"] == [("t-b1@example.org", "red")]

    # an unknown role, a trainee of no participating cohort: refused, nothing changes
    assert client.post(page, data={**put, "put-role": "wizard"}).status_code == 400
    outsider = {**put, "put-user": world.users["t_c1"], "put-role": "blue"}
    assert client.post(page, data=outsider).status_code == 400
    assert _teams(app, world)["Blue"] == [("t-b1@example.org", "red")]

    with app.app_context():
        from lms.exercises.models import TeamMember

        member = db.session.scalar(
            select(TeamMember).where(TeamMember.user_id == world.users["t_a1"])
        ).id
    moved = {"action": "move-member", "member_id": member, "team_id": blue, "role": "blue"}
    assert client.post(page, data=moved).status_code == 302
    renamed = {"action": "rename-team", "team_id": world.teams["Red"], "name": "Crimson"}
    assert client.post(page, data=renamed).status_code == 302
    taken = {"action": "rename-team", "team_id": world.teams["Red"], "name": "blue"}
    assert client.post(page, data=taken).status_code == 400
    assert _teams(app, world) == {
        "Blue": [("t-a1@example.org", "blue"), ("t-b1@example.org", "red")],
        "Crimson": [],
    }
    removed = {"action": "remove-member", "member_id": member}
    assert client.post(page, data=removed).status_code == 302
    gone = {"action": "remove-team", "team_id": world.teams["Red"]}
    assert client.post(page, data=gone).status_code == 302
    assert _teams(app, world) == {"Blue": [("t-b1@example.org", "red")]}

    with app.app_context():
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == [
        "exercise.team.add",
        "exercise.member.put",
        "exercise.member.put",
        "exercise.team.rename",
        "exercise.member.remove",
        "exercise.team.remove",
    ]


# -- teams from a CSV file --------------------------------------------------------------------------


def _upload(client, world, text: str):
    from io import BytesIO

    return client.post(
        world.url("/teams"),
        data={"action": "csv", "csv-file": (BytesIO(text.encode()), "teams.csv")},
        content_type="multipart/form-data",
    )


def test_a_csv_with_bad_lines_reports_each_and_changes_nothing(app):
    world = make_exercise(app, teams={"Red": [("t_a1", "blue")]})
    client = signed_in(app, world.emails["inst_a"])
    bad = _upload(
        client,
        world,
        "email,team,role\n"
        "t-a2@example.org,Red,red\n"
        "nobody@example.org,Red,blue\n"
        "t-c1@example.org,Red,blue\n"  # a trainee of a cohort that takes no part
        "t-b1@example.org,Green,wizard\n"
        "\n"
        "t-a2@example.org,Green,blue\n"
        "just-one-field\n",
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Nothing was changed" in html
    assert "Line 3: no trainee of the exercise" in html and "nobody@example.org" in html
    assert "Line 4: no trainee of the exercise" in html
    assert "Line 5: “wizard” is not a role of this lab (its roles: blue, red)" in html
    assert "Line 7: t-a2@example.org is already on line 2" in html
    assert "Line 8: expected the 3 fields email,team,role; this line has 1" in html
    assert "Line 2:" not in html
    assert _teams(app, world) == {"Red": [("t-a1@example.org", "blue")]}

    good = _upload(
        client,
        world,
        "T-A2@example.org;Green;red\nt-b1@example.org;Green;\nt-a1@example.org;Green;blue\n",
    )
    assert good.status_code == 302
    assert _teams(app, world) == {
        "Green": [  # t-a1 moved from Red (members in the order they joined)
            ("t-a1@example.org", "blue"),
            ("t-a2@example.org", "red"),
            ("t-b1@example.org", "blue"),  # an empty role: the lab's first
        ],
        "Red": [],
    }


# -- teams mixed across centres -----------------------------------------------------------------------


def test_mixing_gives_every_team_both_centres_and_the_roles_in_order(app):
    world = make_exercise(app, teams={"Old": ["t_a1"]}, trainees_per_centre=3)
    client = signed_in(app, world.emails["inst_b"])  # the partner centre's instructor
    mixed = client.post(world.url("/teams"), data={"action": "mix", "mix-team_size": 2})
    assert mixed.status_code == 302
    teams = _teams(app, world)
    assert sorted(teams) == ["Team 1", "Team 2", "Team 3"]  # "Old" is replaced
    for members in teams.values():
        assert len(members) == 2
        assert {email[2] for email, _ in members} == {"a", "b"}  # t-aN and t-bN
        assert [role for _, role in members] == ["blue", "red"]
    page = client.get(world.url("/teams")).get_data(as_text=True)
    assert "Trainees not in a team" not in page

    with app.app_context():  # in the audit log of the centre of who did it
        from lms.audit.models import AuditEvent

        mix = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "exercise.teams.mix"))
        assert mix.centre_id == world.centres["beta"] and mix.actor_email == world.emails["inst_b"]

    uneven = client.post(world.url("/teams"), data={"action": "mix", "mix-team_size": 4})
    assert uneven.status_code == 302
    assert sorted(len(m) for m in _teams(app, world).values()) == [3, 3]

    with app.app_context():
        from lms.exercises.models import Exercise

        db.session.get(Exercise, world.exercise_id).status = "running"
        db.session.commit()
    refused = client.post(world.url("/teams"), data={"action": "mix", "mix-team_size": 2})
    assert refused.status_code == 400
    assert "only before the exercise starts" in refused.get_data(as_text=True)
    assert sorted(len(m) for m in _teams(app, world).values()) == [3, 3]


# -- the clock without an engine -----------------------------------------------------------------------


def test_a_start_is_refused_with_the_labs_message_while_the_engine_is_down(tmp_path):
    from lms.exercises.models import Exercise, ExerciseEvent
    from lms.labs.models import LabSession

    app = exercise_app(tmp_path, LMS_DOCKER_URL=f"unix://{tmp_path}/no-engine.sock")
    try:
        world = make_exercise(app)
        client = signed_in(app, world.emails["inst_a"])
        refused = client.post(world.url("/start"), follow_redirects=True)
        assert "The lab service is unavailable right now" in refused.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(Exercise, world.exercise_id).status == "draft"
            assert db.session.scalar(select(LabSession.id)) is None
            assert db.session.scalar(select(ExerciseEvent.id)) is None
    finally:
        close_lab_app(app)


def test_the_sweep_ends_an_exercise_past_its_end_and_spares_a_paused_one(app):
    from lms.auth.models import utcnow
    from lms.exercises.lifecycle import end_exercises_past_their_end
    from lms.exercises.models import Exercise, ExerciseEvent
    from lms.labs import reaper

    world = make_exercise(app, status="running")
    with app.app_context():
        assert end_exercises_past_their_end in reaper.SWEEPS
        exercise = db.session.get(Exercise, world.exercise_id)
        exercise.ends_at = utcnow() - timedelta(seconds=1)
        exercise.status = "paused"
        exercise.paused_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
        assert end_exercises_past_their_end() == []  # a paused clock stands still
        exercise.status, exercise.paused_at = "running", None
        db.session.commit()
        assert end_exercises_past_their_end() == [world.exercise_id]
        db.session.refresh(exercise)
        assert exercise.status == "ended" and exercise.ended_at is not None
        kinds = list(db.session.scalars(select(ExerciseEvent.kind)))
        assert kinds == ["ended"]
        assert end_exercises_past_their_end() == []  # once


def test_team_members_work_in_the_team_lab_on_their_role_s_workstation(app):
    """The rule registered with lms.labs.sharing: members open their role's workstation in
    the team's lab; the white cell watches only the terminals of trainees it may see."""
    from lms.auth.models import User, utcnow
    from lms.exercises.models import Team
    from lms.labs import sharing
    from lms.labs.models import RUNNING, LabSession

    world = make_exercise(app, status="running")
    with app.app_context():
        session = LabSession(
            key="team-red",
            user_id=world.users["t_b1"],
            lab_slug="team-mini",
            status=RUNNING,
            expires_at=utcnow() + timedelta(hours=1),
        )
        db.session.add(session)
        db.session.flush()
        db.session.get(Team, world.teams["Red"]).lab_session_id = session.id
        db.session.commit()
        person = {key: db.session.get(User, uid) for key, uid in world.users.items()}
        # Red = t_a1 (blue), t_b1 (red, the session's owner); Blue's members are not in it
        assert sharing.workstation_for(person["t_a1"], session) == "blue"
        assert sharing.workstation_for(person["t_b1"], session) == "red"
        assert sharing.workstation_for(person["t_a2"], session) is None
        assert sharing.workstation_for(person["inst_a"], session) is None
        assert sharing.may_watch(person["inst_a"], session, person["t_a1"])
        assert not sharing.may_watch(person["inst_a"], session, person["t_b1"])  # beta's
        assert sharing.may_watch(person["inst_b"], session, person["t_b1"])
        assert not sharing.may_watch(person["admin_c"], session, person["t_a1"])
        assert not sharing.may_watch(person["t_a1"], session, person["t_b1"])


# -- the life of an exercise on the real engine --------------------------------------------------------


@pytest.mark.docker
def test_start_pause_extend_end_move_and_stop_the_teams_labs(tmp_path, docker_client):
    from lms.auth.models import utcnow
    from lms.content.lab_parser import load_lab
    from lms.exercises.models import Exercise, ExerciseEvent, Team, TeamMember
    from lms.labs.models import RUNNING, LabSession
    from lms.labs.runtime import get_image_builder

    get_image_builder().build(load_lab(FIXTURE_LABS / "team-mini"))
    app = exercise_app(tmp_path, LMS_LAB_SESSION_PREFIX=new_prefix())
    try:
        # t_a1 and t_a2 have a lab of their own running: t_b1 anchors Red's environment,
        # Blue (t_a2 alone) cannot start; Empty has no member and is left out.
        world = make_exercise(app, teams={"Red": ["t_a1", "t_b1"], "Blue": ["t_a2"], "Empty": []})
        with app.app_context():
            for key in ("t_a1", "t_a2"):
                db.session.add(
                    LabSession(
                        key=f"own-lab-{key}",
                        user_id=world.users[key],
                        lab_slug="tiny-lab",
                        status=RUNNING,
                        expires_at=utcnow() + timedelta(hours=1),
                    )
                )
            db.session.commit()
        client = signed_in(app, world.emails["inst_b"])
        started = client.post(world.url("/start"), follow_redirects=True)
        text = started.get_data(as_text=True)
        assert "The exercise has started: 1 team environments are starting." in text
        assert "Team “Blue” could not start: Every member of this team has another lab" in text
        assert "Teams without members were left out: Empty" in text

        def session(team="Red"):
            db.session.expire_all()
            return db.session.get(Team, world.teams[team]).lab_session

        def exercise():
            return db.session.get(Exercise, world.exercise_id)

        with app.app_context():
            deadline = time.monotonic() + 120
            while session().status != RUNNING and time.monotonic() < deadline:
                time.sleep(0.2)
            assert session().status == RUNNING, session().error
            assert session().user_id == world.users["t_b1"]
            assert exercise().ends_at == exercise().started_at + timedelta(minutes=60)
            # marked running after the start: it still keeps the exercise's end + 15 min
            assert session().expires_at == exercise().ends_at + timedelta(minutes=15)
            assert session("Blue") is None
            # the anchor stays in their team while its lab runs
            anchor = db.session.scalar(
                select(TeamMember.id).where(TeamMember.user_id == world.users["t_b1"])
            )
            own_lab = db.session.scalar(select(LabSession).where(LabSession.key == "own-lab-t_a2"))
            own_lab.status = "stopped"  # t_a2 stops their own lab: Blue can start now
            db.session.commit()
        teams_page = client.get(world.url("/teams")).get_data(as_text=True)
        assert "Lab running" in teams_page and "Start the missing team environments" in teams_page
        move = {"action": "move-member", "member_id": anchor, "team_id": world.teams["Blue"]}
        refused = client.post(world.url("/teams"), data={**move, "role": "blue"})
        assert refused.status_code == 400
        assert "owns team “Red”&#39;s running lab" in refused.get_data(as_text=True)
        again = client.post(world.url("/start"), follow_redirects=True)
        assert "1 team environments are starting." in again.get_data(as_text=True)
        # a second click finds nothing missing, and says so (not "0 ... are starting")
        twice = client.post(world.url("/start"), follow_redirects=True).get_data(as_text=True)
        assert "nothing to start" in twice and "0 team environments" not in twice

        with app.app_context():
            deadline = time.monotonic() + 120
            while session("Blue").status != RUNNING and time.monotonic() < deadline:
                time.sleep(0.2)
            assert session("Blue").status == RUNNING, session("Blue").error
            assert session("Blue").expires_at == exercise().ends_at + timedelta(minutes=15)
            keys = [session().key, session("Blue").key]

        assert client.post(world.url("/extend"), data={"extend-minutes": 20}).status_code == 302
        with app.app_context():
            assert exercise().ends_at == exercise().started_at + timedelta(minutes=80)
            assert session().expires_at == exercise().ends_at + timedelta(minutes=15)
            ends_before_pause = exercise().ends_at

        assert client.post(world.url("/pause")).status_code == 302
        with app.app_context():  # a pause of ten minutes, as if it began earlier
            paused = exercise()
            paused.paused_at -= timedelta(minutes=10)
            db.session.commit()
        assert client.post(world.url("/resume")).status_code == 302
        with app.app_context():
            moved = exercise().ends_at - ends_before_pause
            assert timedelta(minutes=10) <= moved < timedelta(minutes=11)
            assert exercise().paused_seconds >= 600
            assert session().expires_at == exercise().ends_at + timedelta(minutes=15)
            assert session("Blue").expires_at == exercise().ends_at + timedelta(minutes=15)

        assert client.post(world.url("/end")).status_code == 302
        with app.app_context():
            assert exercise().status == "ended"
            for team in ("Red", "Blue"):
                assert session(team).status == "stopped"
                assert session(team).end_reason == "exercise-ended"
            events = db.session.execute(
                select(ExerciseEvent.kind, ExerciseEvent.team_id)
                .where(ExerciseEvent.kind != "inject")  # the briefing (play's)
                .order_by(ExerciseEvent.id)
            ).all()
            red, blue = world.teams["Red"], world.teams["Blue"]
            assert [tuple(e) for e in events] == [
                ("started", None),
                ("lab-failed", blue),
                ("started", red),
                ("started", blue),
                ("extended", None),
                ("paused", None),
                ("resumed", None),
                ("ended", None),
            ]
        for key in keys:  # no container or network left behind
            assert wait_removed(docker_client, key) == ([], [])
    finally:
        close_lab_app(app)


# -- the demo data ------------------------------------------------------------------------------------


def test_lms_demo_adds_a_draft_exercise_mixing_both_demo_centres(tmp_path):
    from lms import create_app
    from lms.exercises.models import Exercise
    from tests.conftest import ROOT, reset_schema, test_config

    app = create_app(test_config(tmp_path, LMS_LABS_DIR=str(ROOT / "labs")))
    with app.app_context():
        reset_schema()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert "demo exercise: “Joint drill: compromised web server” on web-breach" in first.output
    again = runner.invoke(args=["demo"])
    assert "is there already" in again.output
    with app.app_context():
        (exercise,) = db.session.scalars(select(Exercise)).all()
        assert exercise.status == "draft" and exercise.created_by.email == "instructor@example.org"
        assert len(exercise.teams) == 6  # 16 trainees in teams of at most 3
        for team in exercise.teams:
            centres = {m.user.centre_id for m in team.members}
            assert len(centres) == 2, team.name
            assert team.members[0].role == "analyst"
        members = [m.user.email for team in exercise.teams for m in team.members]
        assert "trainee@example.org" in members
        db.session.remove()
        db.engine.dispose()
