"""The platform-wide audit log: privileged actions recorded with who, what, when and
from where; platform admins see all, centre admins their centres' events; CSV export;
filters that make no sense are ignored, never a server error."""

from __future__ import annotations

import csv
import io

import pytest

from lms import create_app
from lms.audit.models import AuditEvent
from lms.auth.models import User
from lms.centres.models import Centre
from lms.extensions import db
from tests.conftest import reset_schema, test_config


@pytest.fixture
def proxied_app(tmp_path):
    """An app behind one trusted reverse proxy: the client's address is X-Forwarded-For's."""
    app = create_app(test_config(tmp_path, LMS_TRUSTED_PROXIES=1))
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _centres(app, *names) -> list[int]:
    with app.app_context():
        centres = [Centre(slug=name.lower(), name=name) for name in names]
        db.session.add_all(centres)
        db.session.commit()
        return [centre.id for centre in centres]


def _sign_in(client, email):
    from tests.conftest import PASSWORD

    answer = client.post("/login", data={"email": email, "password": PASSWORD})
    assert answer.status_code == 302, answer.data[:300]


def test_a_role_change_is_logged_with_who_what_when_and_where(proxied_app, make_user):
    north, south = _centres(proxied_app, "North", "South")
    make_user("root@example.org", role="platform_admin")
    ana = make_user("ana@example.org", centre_id=north)
    make_user("bob@example.org", centre_id=south)
    make_user("north-admin@example.org", role="centre_admin", centre_id=north)

    admin = proxied_app.test_client()
    admin.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.7"
    _sign_in(admin, "root@example.org")
    changed = admin.post(
        f"/admin/users/{ana}", data={"name": "", "email": "ana@example.org", "role": "instructor"}
    )
    assert changed.status_code == 302
    bob = proxied_app.test_client()
    _sign_in(bob, "bob@example.org")
    with proxied_app.app_context():
        bob_id = db.session.scalar(db.select(User.id).filter_by(email="bob@example.org"))
    deactivated = admin.post(f"/admin/users/{bob_id}/deactivate")
    assert deactivated.status_code == 302

    page = admin.get("/admin/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "user.role" in html and "user.deactivate" in html
    assert "root@example.org" in html and "ana@example.org" in html
    assert "203.0.113.7" in html  # from where: the client, through the trusted proxy
    assert "Trainee → Instructor" in html
    assert 'href="/admin/audit"' in html  # in the admin menu

    with proxied_app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="user.role"))
        assert event.actor.email == "root@example.org"
        assert event.subject_user_id == ana and event.centre_id == north
        assert event.at is not None and event.remote_addr == "203.0.113.7"

    # A centre admin sees their centre's events only: Ana's role change, not Bob's.
    centre_admin = proxied_app.test_client()
    _sign_in(centre_admin, "north-admin@example.org")
    scoped = centre_admin.get("/admin/audit").get_data(as_text=True)
    assert "user.role" in scoped and "ana@example.org" in scoped
    assert "user.deactivate" not in scoped and "bob@example.org" not in scoped
    exported = centre_admin.get("/admin/audit.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["when (UTC)", "who", "action"]
    assert [row[2] for row in rows[1:]] == ["user.role"]
    assert rows[1][1] == "root@example.org" and rows[1][6] == "203.0.113.7"

    # Trainees and instructors have no audit log.
    assert bob.get("/admin/audit").status_code in (302, 403)

    # Filters: by action, by person, by date; garbage is ignored, never a 500.
    only_deactivations = admin.get("/admin/audit?action=user.deactivate").get_data(as_text=True)
    assert (
        "user.deactivate" in only_deactivations and "Trainee → Instructor" not in only_deactivations
    )
    by_person = admin.get("/admin/audit?person=ANA@").get_data(as_text=True)
    assert "Trainee → Instructor" in by_person and "api_tokens_revoked" not in by_person
    future = admin.get("/admin/audit?since=2999-01-01").get_data(as_text=True)
    assert "No event matches" in future
    for garbage in (
        "?since=yesterday&until=31/02/2026&page=-4",
        "?page=abc&action=%27;drop&person=%25_%5C",
        "?page=999999999999999999999",
        "?until=9999-12-31",
    ):
        for url in ("/admin/audit", "/admin/audit.csv"):
            assert admin.get(url + garbage).status_code == 200, url + garbage
    assert admin.get("/admin/audit?action=%00").status_code == 400  # the app's NUL rule


@pytest.fixture
def lab_app(tmp_path):
    from lms.labs import app_runtime
    from tests.lab_support import FakeRuntime, close_lab_app, make_lab_app

    app = make_lab_app(tmp_path)
    app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    yield app
    close_lab_app(app)


def test_centre_changes_exports_and_stopping_someones_lab_are_logged(lab_app):
    from lms.centres import services as centres
    from tests.lab_support import ApiClient, create_user

    ana_id, ana_token = create_user(lab_app, "ana@example.org")
    admin_id, admin_token = create_user(lab_app, "root@example.org", role="platform_admin")
    create_user(lab_app, "carla@example.org", role="centre_admin")
    with lab_app.app_context():
        north = centres.create_centre("North")
        cohort = centres.create_cohort(north, "Autumn")
        centres.join_cohort(db.session.get(User, ana_id), cohort)
        db.session.commit()
        north_slug, cohort_id = north.slug, cohort.id

    started = ApiClient(lab_app, ana_token).start("tiny-lab")
    session_id = started.json["id"]
    admin_api = ApiClient(lab_app, admin_token)
    admin = lab_app.test_client()
    _sign_in(admin, "root@example.org")

    added = admin.post(f"/centres/{north_slug}/admins", data={"admin-email": "carla@example.org"})
    assert added.status_code == 302
    exported = admin.get(f"/cohorts/{cohort_id}/members.csv")
    assert exported.status_code == 200 and b"ana@example.org" in exported.data
    assert admin_api.post(f"/api/v1/labs/sessions/{session_id}/stop").status_code == 200

    with lab_app.app_context():
        events = {
            event.action: event
            for event in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))
        }
        north_id = db.session.scalar(db.select(Centre.id).filter_by(slug=north_slug))
        assert events["centre.admin_add"].detail == '{"email": "carla@example.org"}'
        assert events["centre.admin_add"].centre_id == north_id
        assert events["export.csv"].target == "cohort Autumn"
        assert events["export.csv"].centre_id == north_id
        stop = events["lab.stop"]
        assert (stop.actor_id, stop.subject_user_id, stop.session_id) == (
            admin_id,
            ana_id,
            session_id,
        )
        assert stop.remote_addr == "127.0.0.1"

    # Carla, who now runs North, finds the stop in her centre's log by the trainee.
    carla = lab_app.test_client()
    _sign_in(carla, "carla@example.org")
    page = carla.get("/admin/audit?person=ana@").get_data(as_text=True)
    assert "lab.stop" in page and f"lab session {session_id}" in page


def test_an_account_made_on_the_command_line_is_logged_as_the_system_user(app, runner):
    import getpass

    made = runner.invoke(
        args=[
            "users",
            "create",
            "ops@example.org",
            "--role",
            "platform_admin",
            "--password",
            "correct horse battery",
        ]
    )
    assert made.exit_code == 0, made.output
    with app.app_context():
        event = db.session.scalar(db.select(AuditEvent).filter_by(action="user.create"))
        assert (
            event.target == "user ops@example.org" and event.detail == '{"role": "platform_admin"}'
        )
        assert event.actor_id is None
        assert event.actor_email == f"{getpass.getuser()} (command line)"


def test_api_tokens_leaderboards_and_calendar_addresses_are_logged(app, make_user):
    from lms.centres import services as centres

    make_user("ines@example.org", role="instructor")
    ana_id = make_user("ana@example.org")
    with app.app_context():
        north = centres.create_centre("North")
        cohort = centres.create_cohort(north, "Autumn")
        cohort.instructors.append(
            db.session.scalar(db.select(User).filter_by(email="ines@example.org"))
        )
        db.session.commit()
        cohort_id, north_id = cohort.id, north.id

    trainee = app.test_client()
    _sign_in(trainee, "ana@example.org")
    trainee.post("/settings", data={"token-label": "my script", "token-submit": "Create"})
    with app.app_context():
        token_id = db.session.scalar(db.select(db.text("id FROM api_tokens")))
    assert trainee.post(f"/settings/tokens/{token_id}/revoke").status_code == 302
    assert trainee.post("/calendar/reset").status_code == 302
    instructor = app.test_client()
    _sign_in(instructor, "ines@example.org")
    assert (
        instructor.post(f"/cohorts/{cohort_id}/leaderboard", data={"value": "on"}).status_code
        == 302
    )

    with app.app_context():
        events = {e.action: e for e in db.session.scalars(db.select(AuditEvent))}
        assert events["api-token.create"].detail == '{"label": "my script"}'
        assert events["api-token.create"].subject_user_id == ana_id
        assert "my script" in events["api-token.revoke"].detail
        assert events["calendar-feed.reset"].actor_id == ana_id
        board = events["cohort.leaderboard"]
        assert board.detail == '{"leaderboard": "on"}' and board.centre_id == north_id
