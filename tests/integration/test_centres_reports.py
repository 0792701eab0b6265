"""Cohort dashboards, exports, the API, trainee timelines, the programme view, and query counts."""

import csv
import io
import re
from datetime import timedelta

import pytest

from lms.extensions import db
from tests.programme import EMAILS, QueryCounter


def matrix_cells(page: str, email: str) -> dict[str, str]:
    """module key -> status of one trainee's row in the dashboard matrix."""
    matrix = page.split('id="matrix"')[1]
    keys = re.findall(r'<th scope="col" class="m" data-module="([^"]+)"', matrix)
    row = matrix.split(f'<tr data-trainee="{email}">')[1].split("</tr>")[0]
    return dict(zip(keys, re.findall(r'<td class="m (\w+)">', row), strict=True))


def _csv(response) -> list[dict]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


@pytest.fixture
def history(app, programme):
    """Lab work and a flag share for t_a1, a long-idle t_a2 (given a course), and a
    trainee in a1 whose name is a spreadsheet formula."""
    from lms.auth.models import User, utcnow
    from lms.catalog.models import Course, Module
    from lms.centres import services
    from lms.centres.models import Cohort
    from lms.labs.models import FlagShare, LabSession, TaskAttempt
    from lms.progress.models import IN_PROGRESS, ModuleProgress, QuizAttempt

    with app.app_context():
        now = utcnow()
        t_a1, t_a2 = programme.users["t_a1"], programme.users["t_a2"]
        demo = db.session.query(Course).filter_by(slug="demo-course").one()
        demo.modules[1].lab_slug = "suid-hunt"  # give "next-steps" a lab for this test
        a1 = db.session.get(Cohort, programme.cohorts["a1"])
        evil = User(
            email="evil@example.org", name='=HYPERLINK("http://evil.example/","x")', role="trainee"
        )
        db.session.add(evil)
        db.session.flush()
        services.join_cohort(evil, a1)
        db.session.add(
            LabSession(
                key="k1",
                user_id=t_a1,
                lab_slug="suid-hunt",
                status="stopped",
                started_at=now - timedelta(minutes=50),
                ended_at=now - timedelta(minutes=5),
                expires_at=now,
            )
        )
        for i in range(4):
            db.session.add(
                TaskAttempt(
                    user_id=t_a1,
                    lab_slug="suid-hunt",
                    task_id="read-flag",
                    kind="flag",
                    success=False,
                    created_at=now - timedelta(minutes=30 - i),
                )
            )
        db.session.add(
            FlagShare(submitter_id=t_a1, owner_id=programme.users["t_b1"], lab_slug="suid-hunt")
        )
        quiz_module = (
            db.session.query(Module).filter_by(course_id=demo.id, slug="first-steps").one()
        )
        for _ in range(3):
            db.session.add(
                QuizAttempt(
                    user_id=evil.id,
                    module_id=quiz_module.id,
                    score=0.0,
                    passed=False,
                    created_at=now - timedelta(days=1),
                )
            )
        db.session.add(
            ModuleProgress(
                user_id=evil.id,
                module_id=quiz_module.id,
                status=IN_PROGRESS,
                quiz_score=0.0,
                updated_at=now - timedelta(days=1),
            )
        )
        a2 = db.session.get(Cohort, programme.cohorts["a2"])
        services.assign_course(a2, demo.id, None)
        db.session.add(
            ModuleProgress(
                user_id=t_a2,
                module_id=quiz_module.id,
                status=IN_PROGRESS,
                first_seen_at=now - timedelta(days=20),
                updated_at=now - timedelta(days=20),
            )
        )
        db.session.commit()
        return {"evil": evil.id}


def test_the_dashboard_shows_matrix_stuck_shares_and_lab_time(client, login_as, programme, history):
    login_as("inst_a1")
    page = client.get(f"/cohorts/{programme.cohorts['a1']}/dashboard").get_data(as_text=True)
    assert matrix_cells(page, EMAILS["t_a1"]) == {
        "demo-course/first-steps": "done",
        "demo-course/next-steps": "not_started",
    }
    assert "4 failed attempts at lab task suid-hunt › read-flag" in page
    assert "3 failed quiz attempts in “First steps”" in page
    assert "overdue: Demo course for tests was due" in page
    assert "Possible flag sharing (1)" in page and "other cohort" in page
    assert "0 h 45" in page  # lab time of t_a1
    assert 'id="chart-data"' in page and "chart.umd.min.js" in page and "charts.js" in page


def test_no_progress_for_n_days_is_stuck(client, login_as, programme, history):
    login_as("admin_a")
    a2 = programme.cohorts["a2"]
    assert "no progress for 20 days" in client.get(f"/cohorts/{a2}/dashboard").get_data(
        as_text=True
    )
    assert "no progress for" not in client.get(f"/cohorts/{a2}/dashboard?days=30").get_data(
        as_text=True
    )
    assert client.get(f"/cohorts/{a2}/dashboard?days=zero").status_code == 200


def test_exports_carry_the_tables_and_neutralise_formulas(client, login_as, programme, history):
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    matrix = _csv(client.get(f"/cohorts/{a1}/export/matrix.csv"))
    row = next(r for r in matrix if r["email"] == EMAILS["t_a1"])
    assert row["First steps [demo-course/first-steps] status"] == "done"
    assert row["First steps [demo-course/first-steps] quiz %"] == "100"
    assert row["percent done"] == "50"
    evil = next(r for r in matrix if r["email"] == "evil@example.org")
    assert evil["name"].startswith("'=HYPERLINK")

    trainees = _csv(client.get(f"/cohorts/{a1}/export/trainees.csv"))
    assert {r["email"] for r in trainees} == {EMAILS["t_a1"], "evil@example.org"}
    stuck = _csv(client.get(f"/cohorts/{a1}/export/stuck.csv"))
    assert any("read-flag" in r["reason"] for r in stuck)
    modules = _csv(client.get(f"/cohorts/{a1}/export/modules.csv"))
    assert [m["module"] for m in modules] == ["First steps", "Next steps"]
    assert modules[0]["trainees done"] == "1"
    shares = _csv(client.get(f"/cohorts/{a1}/export/flag-shares.csv"))
    assert shares[0]["lab"] == "suid-hunt" and shares[0]["submitted by"] == "Trainee t_a1"
    # No cell of any export starts with a formula character.
    for table in (matrix, trainees, stuck, modules, shares):
        for r in table:
            assert not any(v.startswith(("=", "+", "-", "@")) for v in r.values() if v)


def test_the_api_gives_the_cohort_progress(client, login_as, programme, history):
    login_as("admin_a")
    data = client.get(f"/api/v1/cohorts/{programme.cohorts['a1']}/progress").get_json()
    assert data["cohort"]["name"] == "A1" and data["cohort"]["centre"]["slug"] == "alpha"
    assert [m["key"] for m in data["modules"]] == [
        "demo-course/first-steps",
        "demo-course/next-steps",
    ]
    assert data["courses"][0]["slug"] == "demo-course" and data["courses"][0]["due_on"]
    t = next(t for t in data["trainees"] if t["email"] == EMAILS["t_a1"])
    assert t["modules"]["demo-course/first-steps"] == {
        "status": "done",
        "quiz_score": 1.0,
        "lab_tasks_done": 0,
    }
    assert t["done"] == 1 and t["percent"] == 50 and t["lab_minutes"] == 45
    assert any("read-flag" in reason for reason in t["stuck"])
    assert data["flag_shares"][0]["submitter_id"] == programme.users["t_a1"]


def test_the_api_with_a_token_and_its_errors(app, client, programme):
    from lms.auth.models import User
    from lms.auth.services import issue_token

    with app.app_context():
        admin_b = issue_token(db.session.get(User, programme.users["admin_b"]))
        trainee = issue_token(db.session.get(User, programme.users["t_b1"]))
    b1, a1 = programme.cohorts["b1"], programme.cohorts["a1"]
    ok = client.get(
        f"/api/v1/cohorts/{b1}/progress", headers={"Authorization": f"Bearer {admin_b}"}
    )
    assert ok.status_code == 200 and ok.get_json()["cohort"]["id"] == b1
    for token, cohort, status in (
        (admin_b, a1, 403),
        (trainee, b1, 403),
        (admin_b, 999, 404),
        ("lms_wrong", b1, 401),
    ):
        response = client.get(
            f"/api/v1/cohorts/{cohort}/progress", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == status
        assert set(response.get_json()) == {"error", "message"}


def test_the_api_is_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    operation = doc["paths"]["/cohorts/{id}/progress"]["get"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    assert "CohortProgress" in doc["components"]["schemas"]


def test_a_trainee_page_has_a_timeline(client, login_as, programme, history):
    login_as("admin_a")
    uid = programme.users["t_a1"]
    page = client.get(f"/trainees/{uid}?cohort={programme.cohorts['a1']}").get_data(as_text=True)
    assert "Joined the cohort A1" in page
    assert "Completed “First steps” (Demo course for tests)" in page
    assert "Submitted a flag for suid-hunt › read-flag: wrong" in page
    assert "Submitted the suid-hunt flag of Trainee t_b1 (possible sharing)" in page
    assert 'data-course="demo-course"' in page and "overdue" in page
    rows = _csv(client.get(f"/trainees/{uid}/timeline.csv"))
    assert {r["kind"] for r in rows} >= {"cohort", "module", "task", "flag-share", "lab"}
    courses = _csv(client.get(f"/trainees/{uid}/courses.csv"))
    assert courses == [
        {
            "course": "Demo course for tests",
            "modules done": "1",
            "modules": "2",
            "percent": "50",
            "average quiz %": "100",
            "due on": courses[0]["due on"],
        }
    ]


def test_member_and_cohort_lists_export(client, login_as, programme, history):
    login_as("admin_a")
    members = _csv(client.get(f"/cohorts/{programme.cohorts['a1']}/members.csv"))
    assert {m["email"] for m in members} == {EMAILS["t_a1"], "evil@example.org"}
    assert next(m for m in members if m["email"] == "evil@example.org")["name"].startswith("'=")
    cohorts = {c["cohort"]: c for c in _csv(client.get("/centres/alpha/cohorts.csv"))}
    assert cohorts["A1"]["trainees"] == "2" and cohorts["A2"]["trainees"] == "1"


def test_a_trainee_sees_their_own_page_only(client, login_as, programme, history):
    login_as("t_a1")
    assert client.get(f"/trainees/{programme.users['t_a1']}").status_code == 200
    assert client.get(f"/trainees/{programme.users['t_a2']}").status_code == 403
    assert client.get(f"/trainees/{history['evil']}/timeline.csv").status_code == 403


def test_the_programme_view_puts_centres_side_by_side(client, login_as, programme, history):
    login_as("admin")
    page = client.get("/programme").get_data(as_text=True)
    for slug in ("alpha", "beta", "gamma"):
        assert f'data-centre="{slug}"' in page
    rows = {r["centre"]: r for r in _csv(client.get("/programme.csv"))}
    assert rows["Alpha Centre"]["cohorts"] == "2"
    assert rows["Alpha Centre"]["trainees"] == "3"  # t_a1, evil, t_a2
    assert rows["Alpha Centre"]["partners"] == "Beta Centre"
    assert rows["Beta Centre"]["completion %"] == "0"
    assert rows["Alpha Centre"]["lab time (h:mm)"] == "0:45"


def _count_queries(app, client, url) -> int:
    with app.app_context():
        engine = db.engine
    client.get(url)  # warm up: first-request work is not the dashboard's
    with QueryCounter(engine) as counter:
        response = client.get(url)
    assert response.status_code == 200
    return counter.count


def test_the_dashboard_query_count_does_not_grow_with_the_cohort(app, client, login_as, programme):
    from lms.centres.generator import generate_cohort

    with app.app_context():
        small = generate_cohort(trainees=5, modules=10, seed=1, centre_slug="alpha").cohort_id
        large = generate_cohort(trainees=50, modules=10, seed=2, centre_slug="alpha").cohort_id
    login_as("admin_a")
    for template in (
        "/cohorts/{}/dashboard",
        "/cohorts/{}/export/matrix.csv",
        "/api/v1/cohorts/{}/progress",
    ):
        counts = [_count_queries(app, client, template.format(c)) for c in (small, large)]
        assert counts[0] == counts[1], f"{template}: {counts}"
        assert counts[0] <= 20, f"{template}: {counts[0]} queries"
    login_as("admin")
    assert _count_queries(app, client, "/programme") <= 20


def test_the_generator_makes_realistic_data(app):
    from lms.centres.generator import generate_cohort
    from lms.centres.models import Cohort
    from lms.centres.reports import cohort_progress

    with app.app_context():
        made = generate_cohort(trainees=40, modules=12, seed=3)
        p = cohort_progress(db.session.get(Cohort, made.cohort_id))
        assert len(p.trainees) == 40 and len(p.modules) == 12
        statuses = {c.status for t in p.trainees for c in t.cells}
        assert statuses == {"done", "in_progress", "not_started"}
        assert p.stuck and 0 < p.completion < 100
        assert sum(t.lab_minutes for t in p.trainees) > 0


def test_the_generator_command(runner, app):
    result = runner.invoke(
        args=["centres", "generate-demo-cohort", "--trainees", "12", "--modules", "5"]
    )
    assert result.exit_code == 0, result.output
    assert "12 trainees × 5 modules" in result.output
    again = runner.invoke(
        args=["centres", "generate-demo-cohort", "--trainees", "12", "--modules", "5"]
    )
    assert again.exit_code != 0 and "Use another --seed" in again.output
