"""A team lab is run by its exercise: a trainee's own lab actions (start, check, flag, hint,
extend, stop, restart) refuse it with a message that says where it runs, and change nothing."""

from __future__ import annotations

from datetime import timedelta

from lms.auth.models import utcnow
from lms.extensions import db
from lms.labs.models import RUNNING, LabSession, TaskAttempt
from tests.conftest import PASSWORD
from tests.exercise_support import exercise_app
from tests.lab_support import ApiClient, create_user


def test_a_team_lab_refuses_every_solo_lab_action(tmp_path):
    app = exercise_app(tmp_path)
    ana_id, token = create_user(app, "ana@example.org")
    with app.app_context():  # the team environment Ana anchors
        now = utcnow()
        session = LabSession(
            key="team-anchor-1",
            user_id=ana_id,
            lab_slug="team-mini",
            status=RUNNING,
            started_at=now,
            expires_at=now + timedelta(minutes=30),
        )
        db.session.add(session)
        db.session.commit()
        session_id, expires = session.id, session.expires_at
    api = ApiClient(app, token)

    started = api.start("team-mini")
    assert started.status_code == 409
    assert "team exercise: it runs from the Exercises page" in started.json["message"]
    base = f"/api/v1/labs/sessions/{session_id}"
    for url, body in (
        (f"{base}/check", {"task": "blue-report"}),
        (f"{base}/flag", {"task": "team-flag", "flag": "FLAG{x}"}),
        (f"{base}/extend", {}),
        (f"{base}/stop", {}),
        (f"{base}/restart", {}),
        ("/api/v1/labs/team-mini/hint", {"task": "team-flag", "accept_penalty": True}),
    ):
        answer = api.post(url, body)
        assert answer.status_code == 409, (url, answer.json)
        assert answer.json["error"] == "team_lab"

    page = app.test_client()  # the lab pages' own forms say the same
    page.post("/login", data={"email": "ana@example.org", "password": PASSWORD})
    stopped = page.post(f"/labs/sessions/{session_id}/stop", follow_redirects=True)
    assert "it runs from the Exercises page" in stopped.get_data(as_text=True)
    with app.app_context():
        still = db.session.get(LabSession, session_id)
        assert (still.status, still.expires_at) == (RUNNING, expires)
        assert db.session.scalar(db.select(db.func.count()).select_from(TaskAttempt)) == 0
