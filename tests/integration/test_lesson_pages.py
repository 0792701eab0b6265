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
