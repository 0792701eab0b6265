"""Flags and lab-session logic against a fake runtime (no engine): derivation, grading,
rate limits, shares, capacity, extension, reaping. The real engine is in
tests/integration/test_lab_sessions.py."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.auth.models import utcnow
from lms.content.lab_library import get_spec
from lms.extensions import db
from lms.labs import app_runtime, health, services, workers
from lms.labs.errors import CapacityReached, ExtendLimit, TooManyAttempts
from lms.labs.flags import WRONG_FLAGS_PER_MINUTE, flag_for, flag_secrets, submit_flag
from lms.labs.models import FlagShare, LabSession, TaskAttempt, TaskCompletion
from lms.labs.reaper import reap
from tests.conftest import PASSWORD
from tests.lab_support import (
    LAB_MODULE_URL,
    ApiClient,
    FakeRuntime,
    close_lab_app,
    create_user,
    make_lab_app,
    teach,
)


@pytest.fixture
def app(tmp_path):
    app = make_lab_app(tmp_path)
    app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    yield app
    close_lab_app(app)


@pytest.fixture
def fake(app) -> FakeRuntime:
    return app.extensions[app_runtime.RUNTIME_KEY]


def started(app, email: str, lab: str = "tiny-lab") -> tuple[int, ApiClient, dict]:
    user_id, token = create_user(app, email)
    api = ApiClient(app, token)
    response = api.start(lab)
    assert response.status_code == 202, response.json
    return user_id, api, api.wait_settled(response.json["id"])


def test_flag_format_and_derivation():
    flag = flag_for(7, "suid-hunt", secret="s3cret")
    assert re.fullmatch(r"FLAG\{[0-9a-f]{32}\}", flag)
    assert flag == flag_for(7, "suid-hunt", secret="s3cret")  # stable: nothing stored
    assert flag != flag_for(8, "suid-hunt", secret="s3cret")  # per trainee
    assert flag != flag_for(7, "log-triage", secret="s3cret")  # per lab
    assert flag != flag_for(7, "suid-hunt", secret="other")  # per server secret


def test_flag_is_written_as_a_secret_file_at_start(app, fake):
    user_id, _, body = started(app, "a@example.org")
    assert body["status"] == "running"
    [secret] = next(iter(fake.labs.values()))["secrets"]
    with app.app_context():
        assert secret.content == flag_for(user_id, "tiny-lab").encode() + b"\n"
        spec = get_spec("tiny-lab")
        assert flag_secrets(spec, user_id) == [secret]
    assert (secret.container, secret.path, secret.mode) == ("main", "/root/flag.txt", 0o400)


def test_wrong_flags_are_rate_limited_per_trainee(app):
    _, api, body = started(app, "a@example.org")
    url = f"/api/v1/labs/sessions/{body['id']}/flag"
    for _ in range(WRONG_FLAGS_PER_MINUTE):
        assert api.post(url, {"task": "read-flag", "flag": "FLAG{guess}"}).json["correct"] is False
    blocked = api.post(url, {"task": "read-flag", "flag": "FLAG{guess}"})
    assert blocked.status_code == 429
    assert blocked.json["error"] == "rate_limited"
    assert "Wait" in blocked.json["message"]
    assert 1 <= int(blocked.headers["Retry-After"]) <= 61
    # Another trainee is not slowed down.
    _, other, other_body = started(app, "b@example.org")
    ok = other.post(
        f"/api/v1/labs/sessions/{other_body['id']}/flag",
        {"task": "read-flag", "flag": "FLAG{guess}"},
    )
    assert ok.status_code == 200


def test_a_flag_of_another_trainee_is_recorded_as_a_share(app):
    alice_id, _, alice_body = started(app, "a@example.org")
    bob_id, _, _ = started(app, "b@example.org")
    with app.app_context():
        session = db.session.get(LabSession, alice_body["id"])
        spec = get_spec("tiny-lab")
        outcome = submit_flag(session, spec, "read-flag", flag_for(bob_id, "tiny-lab"))
        assert (outcome.correct, outcome.shared) == (False, True)
        share = db.session.scalar(select(FlagShare))
        assert (share.submitter_id, share.owner_id, share.task_id) == (
            alice_id,
            bob_id,
            "read-flag",
        )
        assert db.session.scalar(select(func.count()).select_from(TaskCompletion)) == 0

        outcome = submit_flag(session, spec, "read-flag", f"  {flag_for(alice_id, 'tiny-lab')}\n")
        assert outcome.correct
        kinds = db.session.execute(
            select(TaskAttempt.output, TaskAttempt.success).order_by(TaskAttempt.id)
        ).all()
        assert kinds == [("flag of another trainee", False), ("correct", True)]


def test_flag_shares_page_is_for_staff(app, client):
    alice_id, _, alice_body = started(app, "a@example.org")
    bob_id, _, _ = started(app, "b@example.org")
    with app.app_context():
        session = db.session.get(LabSession, alice_body["id"])
        submit_flag(session, get_spec("tiny-lab"), "read-flag", flag_for(bob_id, "tiny-lab"))
    create_user(app, "teacher@example.org", role="instructor")
    create_user(app, "stranger@example.org", role="instructor")
    client.post("/login", data={"email": "stranger@example.org", "password": PASSWORD})
    assert "a@example.org" not in client.get("/labs/flag-shares").get_data(as_text=True)
    client.post("/logout")
    teach(app, "teacher@example.org", "a@example.org")
    client.post("/login", data={"email": "teacher@example.org", "password": PASSWORD})
    page = client.get("/labs/flag-shares").get_data(as_text=True)
    assert "a@example.org" in page and "b@example.org" in page and "read-flag" in page
    # An instructor following "Labs" in the menu lands on the shares, not the admin page.
    assert client.get("/labs/admin").location.endswith("/labs/flag-shares")


def test_hints_are_recorded_once_and_shown(app, client):
    user_id, api, _ = started(app, "a@example.org")
    first = api.post("/api/v1/labs/tiny-lab/hint", {"task": "read-flag"})
    assert first.json["hint_html"] == "<code>cat /root/flag.txt</code>"
    api.post("/api/v1/labs/tiny-lab/hint", {"task": "read-flag"})
    assert api.post("/api/v1/labs/tiny-lab/hint", {"task": "make-done"}).status_code == 400
    with app.app_context():
        hints = db.session.scalars(select(TaskAttempt).where(TaskAttempt.kind == "hint")).all()
        assert [(h.user_id, h.task_id) for h in hints] == [(user_id, "read-flag")]
    client.post("/login", data={"email": "a@example.org", "password": PASSWORD})
    assert "<code>cat /root/flag.txt</code>" in client.get(LAB_MODULE_URL).get_data(as_text=True)


def test_check_results_are_recorded(app, fake):
    _, api, body = started(app, "a@example.org")
    url = f"/api/v1/labs/sessions/{body['id']}/check"
    failed = api.post(url, {"task": "make-done"}).json
    assert (failed["passed"], failed["output"], failed["task"]["done"]) == (
        False,
        "fake output",
        False,
    )
    fake.check_passes = True
    assert api.post(url, {"task": "make-done"}).json["task"]["done"] is True
    assert api.post(url, {"task": "read-flag"}).status_code == 400  # not a check task
    fake.labs.clear()  # the lab vanished
    gone = api.post(url, {"task": "make-done"})
    assert gone.status_code == 409 and "no longer running" in gone.json["message"]
    assert api.session(body["id"])["end_reason"] == "vanished"


def test_capacity_is_checked_again_after_insert(app):
    """Two starts racing past the first check: the later row is refused and removed."""
    user_id, _ = create_user(app, "a@example.org")
    with app.app_context():
        now = utcnow()
        first = LabSession(
            key="lab-x1",
            user_id=user_id,
            lab_slug="second-lab",
            status="starting",
            expires_at=now + timedelta(minutes=5),
        )
        later = LabSession(
            key="lab-x2",
            user_id=user_id,
            lab_slug="tiny-lab",
            status="starting",
            expires_at=now + timedelta(minutes=5),
        )
        db.session.add_all([first, later])
        db.session.commit()
        services._check_capacity(user_id, "second-lab", inserted=first)  # the earlier one may run
        with pytest.raises(CapacityReached):
            services._check_capacity(user_id, "tiny-lab", inserted=later)


def test_extend_stops_at_max_minutes(app):
    _, _, body = started(app, "a@example.org")
    with app.app_context():
        session = db.session.get(LabSession, body["id"])
        services.extend_lab(session)
        services.extend_lab(session)  # 5 + 5 + 5 > 12: capped
        limit = session.started_at + timedelta(minutes=12)
        assert session.expires_at == limit
        with pytest.raises(ExtendLimit):
            services.extend_lab(session)


def test_reaper_fails_starts_that_never_finished(app, fake):
    user_id, _ = create_user(app, "a@example.org")
    with app.app_context():
        stale = LabSession(
            key="lab-stale",
            user_id=user_id,
            lab_slug="tiny-lab",
            status="starting",
            created_at=utcnow() - timedelta(hours=1),
            expires_at=utcnow(),
        )
        db.session.add(stale)
        db.session.commit()
        report = reap()
        assert report.timed_out == ["lab-stale"]
        assert db.session.get(LabSession, stale.id).status == "failed"


def test_rate_limit_error_is_json_for_the_api(app):
    with app.test_request_context("/api/v1/x"):
        from lms.labs.api import lab_error_response

        response = lab_error_response(TooManyAttempts("Wait.", 12))
        assert response.status_code == 429 and response.headers["Retry-After"] == "12"
        assert response.json == {"error": "rate_limited", "message": "Wait.", "retry_after": 12}


def test_engine_down_is_remembered_without_asking_again(app, fake):
    fake.up = False
    _, token = create_user(app, "a@example.org")
    api = ApiClient(app, token)
    assert api.start("tiny-lab").status_code == 503
    fake.up = True  # the cached state holds for a few seconds: no probe per click
    assert api.start("tiny-lab").status_code == 503
    with app.app_context():
        health.engine_health().mark(True)
    assert api.start("tiny-lab").status_code == 202


def test_an_engine_outcome_observed_earlier_does_not_overwrite_a_later_one(app, fake):
    # A slow probe that saw the engine down finishes writing after a start found it up:
    # the later observation stands, in the database and in this process.
    with app.app_context():
        engine = health.engine_health()
        engine.mark(True)
        engine.mark(False, error="stale probe", observed_at=utcnow() - timedelta(seconds=2))
        assert health.freshest_record().engine_up is True
        another_worker_of_this_process = health.EngineHealth(app, lambda: fake)
        another_worker_of_this_process.mark(False, observed_at=utcnow() - timedelta(seconds=2))
        assert health.freshest_record().engine_up is True
        assert engine.is_up()


def test_a_slow_probe_does_not_refuse_starts_while_the_engine_was_last_seen_up(
    app, fake, monkeypatch
):
    # On a loaded host a ping may take longer than a request waits for it: the last
    # outcome (up, still fresh) lets the start queue; an old one does not.
    monkeypatch.setattr(fake, "ping", lambda: time.sleep(1.5))
    with app.app_context():
        engine = health.engine_health()
        engine.mark(True, observed_at=utcnow() - timedelta(seconds=8))
        assert engine.is_up(wait=0.2)
        time.sleep(1.6)  # the slow probe finishes (up); then an outcome from long ago
        stale = health.EngineHealth(app, lambda: fake)
        stale.is_worker = True
        db.session.execute(
            db.update(health.WorkerRecord).values(
                engine_checked_at=utcnow() - timedelta(seconds=30)
            )
        )
        db.session.commit()
        assert not stale.is_up(wait=0.2)


def test_lab_endpoints_are_documented(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/labs/{slug}/start",
        "/labs/sessions/{session_id}",
        "/labs/sessions/{session_id}/flag",
        "/labs/sessions/{session_id}/check",
        "/labs/sessions/{session_id}/extend",
        "/labs/sessions/{session_id}/stop",
    ):
        assert path in paths, path


def test_unknown_lab_and_session_are_json_404s(app):
    _, token = create_user(app, "a@example.org")
    api = ApiClient(app, token)
    assert api.start("no-such-lab").status_code == 404
    assert api.start("../etc").status_code == 404
    missing = api.get("/api/v1/labs/sessions/999")
    assert missing.status_code == 404 and missing.json["error"] == "not_found"
    assert api.post("/api/v1/labs/sessions/999/flag", {"task": "x", "flag": "y"}).status_code == 404


def test_simultaneous_clicks_never_refuse_nor_double(app, fake):
    """Eight clicks at once, five times: always one session, the others get it back."""
    import threading

    _, token = create_user(app, "a@example.org")
    for _ in range(5):
        barrier = threading.Barrier(8)
        answers = []

        def click(barrier=barrier, answers=answers):
            client = ApiClient(app, token)
            barrier.wait()
            answers.append(client.start("tiny-lab"))

        threads = [threading.Thread(target=click) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert {r.status_code for r in answers} <= {200, 202}, [r.json for r in answers]
        assert len({r.json["id"] for r in answers}) == 1
        api = ApiClient(app, token)
        api.post(f"/api/v1/labs/sessions/{answers[0].json['id']}/stop")
    with app.app_context():
        workers.wait_drained(app)
        assert db.session.scalar(select(func.count()).select_from(LabSession)) == 5
    assert fake.labs == {}


def test_the_no_script_task_forms_flash_their_verdicts(app, fake):
    user_id, _, body = started(app, "a@example.org")
    browser = app.test_client()
    browser.post("/login", data={"email": "a@example.org", "password": PASSWORD})
    url = f"/labs/sessions/{body['id']}"

    def posted(action: str, **form) -> str:
        return browser.post(f"{url}/{action}", data=form, follow_redirects=True).text

    assert "That is not the flag" in posted("flag", task="read-flag", flag="FLAG{guess}")
    with app.app_context():
        flag = flag_for(user_id, "tiny-lab")
    assert "Correct: task done." in posted("flag", task="read-flag", flag=flag)
    assert "Not yet: the check failed. fake output" in posted("check", task="make-done")
    fake.check_passes = True
    assert "Passed: task done. fake output" in posted("check", task="make-done")
    assert "This lab has no check task" in posted("check", task="no-such-task")
