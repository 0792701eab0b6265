"""The module page: a quiz left incomplete, what a page view costs, cached content."""

import re

from sqlalchemy import func, select

from lms.extensions import db
from lms.progress.models import QuizAttempt

MODULE_URL = "/courses/demo-course/first-steps"
QUIZ_URL = f"{MODULE_URL}/quiz"


def _checked(html: str, input_id: str) -> bool:
    tag = re.search(rf'<input[^>]*id="{input_id}"[^>]*>', html, re.S)
    assert tag, input_id
    return re.search(r"\schecked[\s>]", tag.group(0)) is not None


def test_an_incomplete_quiz_is_shown_again_with_the_answers_kept(app, client, courses, trainee):
    response = client.post(QUIZ_URL, data={"q1": ["1", "2"]})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<h1" in html and "First steps" in html  # the module page, not an error page
    assert "Question 1 has no answer yet" in html
    assert _checked(html, "q1-1") and _checked(html, "q1-2") and not _checked(html, "q1-3")
    assert not any(_checked(html, f"q0-{n}") for n in (1, 2, 3))
    first = re.search(r'<fieldset[^>]*data-question="0"[^>]*>', html, re.S).group(0)
    assert 'aria-invalid="true"' in first
    assert 'id="q0-missing"' in html and 'id="q1-missing"' not in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(QuizAttempt)) == 0


def _statements_of(app, client, url):
    from sqlalchemy import event

    statements = []
    with app.app_context():
        engine = db.engine

    def record(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return statements


def _writes(statements):
    return [s for s in statements if s.split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


def test_reading_a_module_again_is_a_handful_of_reads_and_no_write(app, client, courses, trainee):
    first = _statements_of(app, client, MODULE_URL)
    assert _writes(first)  # the first visit enrols and starts the module
    again = _statements_of(app, client, MODULE_URL)
    assert _writes(again) == [], again
    # the user, the course's version, the trainee's progress and enrolment (the course
    # tree itself comes from the cache); the old page sent 14 and wrote every time
    assert len(again) <= 5, again


def test_a_visit_is_recorded_again_after_a_while_and_on_another_module(
    app, client, courses, trainee
):
    from lms.progress.models import Enrolment, ModuleProgress
    from lms.progress.services import VISIT_INTERVAL

    client.get(MODULE_URL)
    with app.app_context():
        enrolment = db.session.scalar(select(Enrolment))
        enrolment.last_seen_at -= VISIT_INTERVAL * 2
        db.session.commit()
    assert _writes(_statements_of(app, client, MODULE_URL))
    assert not _writes(_statements_of(app, client, MODULE_URL))

    client.get("/courses/demo-course/next-steps")
    with app.app_context():
        enrolment = db.session.scalar(select(Enrolment))
        assert enrolment.last_module.slug == "next-steps"
        assert db.session.scalar(select(func.count()).select_from(ModuleProgress)) == 2
    assert b"Next steps" in client.get("/").data  # "continue where you left off"


def test_a_sync_shows_the_new_version_at_once(app, client, trainee, tmp_path):
    import shutil

    from lms.catalog.services import sync_courses
    from tests.conftest import FIXTURE_COURSES

    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    with app.app_context():
        sync_courses(folder)
    assert b"Plain text module" in client.get("/courses/demo-course/next-steps").data
    assert b"only the owner read and write" in client.get(MODULE_URL).data
    module = folder / "demo-course" / "02-next-steps.md"
    module.write_text(module.read_text().replace("Plain text module", "Rewritten module"))
    quiz = folder / "demo-course" / "01-first-steps.md"
    quiz.write_text(
        quiz.read_text().replace("only the owner read and write", "the owner alone use")
    )
    with app.app_context():
        assert sync_courses(folder).updated == ["demo-course"]
    page = client.get("/courses/demo-course/next-steps").data
    assert b"Rewritten module" in page and b"Plain text module" not in page
    page = client.get(MODULE_URL).data  # the quiz, rendered once per version, too
    assert b"the owner alone use" in page and b"only the owner read and write" not in page


def test_the_page_read_from_the_cache_shows_the_trainees_own_state(client, courses, trainee):
    client.get(MODULE_URL)
    client.post(QUIZ_URL, data={"q0": "2", "q1": ["1", "2"]})
    page = client.get(MODULE_URL).get_data(as_text=True)
    assert "You passed this quiz (best score 100%)" in page
    assert not any(_checked(page, f"q0-{n}") for n in (1, 2, 3))  # a fresh form to retake
    client.post(f"{MODULE_URL}/complete")
    page = client.get(MODULE_URL).get_data(as_text=True)
    assert 'id="module-done"' in page and "50%" in page
