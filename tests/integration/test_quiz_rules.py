"""Quiz integrity under a course's rules, points with hint penalties, cohort leaderboards:
through the test client on the real database (SQLite, or PostgreSQL with
LMS_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
import textwrap
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from lms.catalog.services import sync_courses
from lms.extensions import db
from lms.progress.models import ModuleProgress, QuizAttempt, QuizPaper
from tests.conftest import ROOT

# Five questions whose right answer is always the choice "right <n>" (number 1), so the
# tests can answer a shuffled draw by the labels they read.
BANK = "\n".join(
    f'- question: "Bank question {n}?"\n'
    f'  choices: ["right {n}", "wrong {n}a", "wrong {n}b", "wrong {n}c"]\n'
    f"  answer: 1\n"
    f'  explain: "Explanation {n}."'
    for n in range(5)
)
IP_AND_CHOICE = """\
- question: Which address scanned the server?
  answer: "192.0.2.44"
  explain: Explanation of the address.
- question: Pick the first
  choices: [first, second]
  answer: 1
  explain: Explanation of the choice.
"""
TYPED = """\
- question: Who logged in?
  answer: Alice
  match: ignore_case
  explain: Explanation of the account.
- question: Which command counts equal lines?
  answer: '(\\|\\s*)?uniq\\s+(-c|--count)'
  match: pattern
  explain: Explanation of uniq.
"""


@pytest.fixture
def make_course(app, tmp_path):
    """make_course(slug, quiz rules YAML, quiz YAML, lab=None) -> module URL, synced."""

    def _make(slug: str, rules: str, quiz: str, lab: str | None = None) -> str:
        folder = tmp_path / "courses" / slug
        folder.mkdir(parents=True)
        (folder / "course.yaml").write_text(f"title: {slug}\nsummary: S\n{rules}")
        front = f"title: The module\n{f'lab: {lab}' if lab else ''}"
        (folder / "01-module.md").write_text(
            f"---\n{front}\n---\nText.\n\n```quiz\n{textwrap.dedent(quiz).rstrip()}\n```\n"
        )
        with app.app_context():
            report = sync_courses(folder, ROOT / "labs")
            assert not report.issues, report.issues
        return f"/courses/{slug}/module"

    return _make


def asked(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-question="(\d+)"', page)]


def choice_labels(page: str) -> list[str]:
    return re.findall(r'class="form-check-label" for="q\d+-\d+">([^<]+)<', page)


def right_answers(page: str) -> dict:
    """Each asked bank question's "right <n>" choice, read from the page's labels."""
    return {
        f"q{q}": re.search(
            rf'name="q{q}" value="(\d+)" id="q{q}-\d+"\s*>\s*<label[^>]*>right', page
        ).group(1)
        for q in asked(page)
    }


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return db.session.scalar(query)


def test_a_bank_draws_n_of_m_shuffled_and_keeps_the_draw_across_a_reload(
    app, client, trainee, make_course
):
    url = make_course("bank", "quiz:\n  questions_per_attempt: 2\n  shuffle_choices: true\n", BANK)
    page = client.get(url).text
    drawn = asked(page)
    assert len(drawn) == 2 and set(drawn) <= set(range(5))
    assert "attempt asks 2 questions" in page
    again = client.get(url).text  # a reload: the same questions, the same order
    assert asked(again) == drawn and choice_labels(again) == choice_labels(page)
    assert count(app, QuizPaper, user_id=trainee) == 1
    # Nothing in the page tells the right choice before grading.
    assert "Explanation" not in page and "checked" not in page and "correct" not in page

    not_drawn = next(n for n in range(5) if n not in drawn)
    tampered = client.post(f"{url}/quiz", data={**right_answers(page), f"q{not_drawn}": "1"})
    assert tampered.status_code == 400 and "not part of this attempt" in tampered.text

    graded = client.post(f"{url}/quiz", data=right_answers(page))
    assert graded.status_code == 200 and "You got 2 of 2 right" in graded.text
    assert count(app, QuizPaper, user_id=trainee) == 0  # used up by the grading
    # The same attempt sent again (a second tab, a double click) is not graded twice.
    again = client.post(f"{url}/quiz", data=right_answers(page))
    assert again.status_code == 409 and "already graded" in again.text
    assert count(app, QuizAttempt, user_id=trainee) == 1
    assert asked(client.get(url).text) and count(app, QuizPaper, user_id=trainee) == 1


def test_an_attempt_limit_is_enforced_and_explanations_wait_for_the_last_attempt(
    app, client, trainee, make_course
):
    url = make_course(
        "limited", "quiz:\n  max_attempts: 2\n  explanations: after_passing\n", IP_AND_CHOICE
    )
    page = client.get(url).text
    assert 'name="q0"' in page and 'type="text"' in page
    assert "192.0.2.44" not in page  # the accepted answer is not in the page
    wrong = {"q0": "192.0.2.45", "q1": "2"}
    first = client.post(f"{url}/quiz", data=wrong)
    assert "You got 0 of 2 right" in first.text and "Not quite" in first.text
    assert "Explanation" not in first.text and "192.0.2.44" not in first.text
    assert "attempt 2 of 2" in client.get(url).text
    last = client.post(f"{url}/quiz", data=wrong)
    assert "Explanation of the address." in last.text  # the last attempt: explanations
    assert "You have used every attempt" in client.get(url).text

    refused = client.post(f"{url}/quiz", data={"q0": "192.0.2.44", "q1": "1"})
    assert refused.status_code == 409 and "used every attempt" in refused.text
    assert count(app, QuizAttempt, user_id=trainee) == 2
    with app.app_context():
        assert db.session.scalar(select(ModuleProgress.quiz_passed)) is False
    # Every attempt used: the module can be completed with the best score it has.
    done = client.post(f"{url}/complete", follow_redirects=True)
    assert "pass the quiz" not in done.text
    with app.app_context():
        assert db.session.scalar(select(ModuleProgress.status)) == "done"


def test_a_cooldown_is_enforced_on_the_server_and_passing_closes_the_quiz(
    app, client, trainee, make_course
):
    url = make_course(
        "cooldown", "quiz:\n  cooldown_minutes: 10\n  explanations: after_passing\n", TYPED
    )
    failed = client.post(f"{url}/quiz", data={"q0": "bob", "q1": "uniq"})
    assert "You got 0 of 2 right" in failed.text and "Explanation" not in failed.text
    waiting = client.post(f"{url}/quiz", data={"q0": "alice", "q1": "uniq -c"})
    assert waiting.status_code == 429 and 540 < int(waiting.headers["Retry-After"]) <= 600
    assert "next attempt opens in 10 minutes" in waiting.text
    assert count(app, QuizAttempt, user_id=trainee) == 1
    assert "next attempt opens" in client.get(url).text and 'name="q0"' not in client.get(url).text

    with app.app_context():  # eleven minutes later
        for attempt in db.session.scalars(select(QuizAttempt)):
            attempt.created_at -= timedelta(minutes=11)
        db.session.commit()
    assert 'name="q0"' in client.get(url).text  # the wait is over: the next attempt
    passed = client.post(f"{url}/quiz", data={"q0": " ALICE ", "q1": "| uniq  --count"})
    assert passed.status_code == 200 and "You got 2 of 2 right" in passed.text
    assert "Explanation of uniq." in passed.text  # passed: the explanations show
    closed = client.post(f"{url}/quiz", data={"q0": "alice", "q1": "uniq -c"})
    assert closed.status_code == 409
    review = client.get(url).text
    assert "You passed this quiz" in review and "Explanation of the account." in review


def test_points_add_quizzes_and_lab_tasks_and_take_off_hint_penalties(
    app, client, trainee, make_course
):
    url = make_course("points", "", IP_AND_CHOICE, lab="log-triage")
    page = client.get(url).text
    assert "Show a hint (costs 4 points)" in page and "It costs 4 points" in page
    # The API reveals a hint that costs points only when the cost is accepted.
    headers = {"X-CSRFToken": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)}
    refused = client.post(
        "/api/v1/labs/log-triage/hint", json={"task": "attacker-ip"}, headers=headers
    )
    assert refused.status_code == 409 and refused.json["error"] == "penalty_not_accepted"
    accepted = client.post(
        "/api/v1/labs/log-triage/hint",
        json={"task": "attacker-ip", "accept_penalty": True},
        headers=headers,
    )
    assert accepted.status_code == 200 and "uniq -c" in accepted.json["hint_html"]
    # The page's form (its button names the cost) reveals the other one.
    form = {"task": "dropped-file", "accept_penalty": "yes", "next": url}
    assert client.post("/labs/log-triage/hint", data=form).status_code == 302
    with app.app_context():
        from lms.content import lab_library
        from lms.labs.grading import complete_task

        spec = lab_library.get_spec("log-triage")
        complete_task(trainee, "log-triage", spec.task("attacker-ip"), None)  # 10 points
        db.session.commit()
    client.post(f"{url}/quiz", data={"q0": "192.0.2.44", "q1": "2"})  # 1 of 2: 10 points

    mine = client.get("/points").text
    row = re.search(r'<tr data-course="points">(.*?)</tr>', mine, re.S).group(1)
    cells = re.findall(r'<td class="text-end[^"]*">(.*?)</td>', row, re.S)
    assert [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells] == [
        "10",
        "10",
        "−9",
        "11 of 60",  # quizzes 20 + the lab's 40
    ]
    assert "<strong>11</strong> points in all" in mine
    assert (
        "Your points</a>: <strong>11</strong> of 60 (hints −9)"
        in client.get("/courses/points").text
    )


def test_the_leaderboard_is_off_by_default_and_scoped_to_the_cohort(
    app, client, programme, login_as
):
    from lms.auth.models import User
    from lms.centres import services
    from lms.centres.models import Cohort

    a1 = programme.cohorts["a1"]
    with app.app_context():  # a second trainee in A1, with no points yet
        services.join_cohort(
            db.session.get(User, programme.users["t_none"]), db.session.get(Cohort, a1)
        )
        db.session.commit()
    board = f"/cohorts/{a1}/leaderboard"

    login_as("t_a1")
    assert client.get(board).status_code == 404  # off by default
    assert "Leaderboards" not in client.get("/points").text

    for outsider in ("inst_b1", "admin_b"):  # another centre's staff cannot switch it
        login_as(outsider)
        assert client.post(board, data={"value": "on"}).status_code == 403
    login_as("inst_a1")
    assert 'Leaderboard: <span id="leaderboard-state">off' in client.get(f"/cohorts/{a1}").text
    switched = client.post(board, data={"value": "on"}, follow_redirects=True)
    assert "The leaderboard of A1 is on" in switched.text
    assert client.get(board).status_code == 200  # the instructor sees it too

    login_as("t_a1")
    shown = client.get(board).text
    ranks = re.findall(r"<td>(\d+)</td>\s*<td>([^<]+)", shown)
    assert [(r, n.strip()) for r, n in ranks] == [("1", "Trainee t_a1"), ("2", "t_none")]
    assert "you are <strong>1st</strong> of 2 with 20 points" in client.get("/points").text
    for outsider in ("t_a2", "t_b1", "t_c1"):  # other cohorts, other centres
        login_as(outsider)
        assert client.get(board).status_code == 404
        assert "Leaderboards" not in client.get("/points").text

    login_as("admin_a")  # the centre's admin switches it off again
    client.post(board, data={"value": "off"})
    login_as("t_a1")
    assert client.get(board).status_code == 404
