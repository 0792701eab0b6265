"""Catalogue, module pages, quizzes and completion through the test client."""

import re
import shutil

import pytest

from lms.catalog.models import Course
from lms.extensions import db
from tests.conftest import FIXTURE_COURSES

QUIZ_URL = "/courses/demo-course/first-steps/quiz"


def test_catalogue_search_and_filters(client, courses, trainee):
    page = client.get("/catalogue")
    assert b"Demo course for tests" in page.data
    assert b"Demo course for tests" in client.get("/catalogue?q=demo&level=beginner&tag=linux").data
    assert b"No course matches" in client.get("/catalogue?q=nothing-like-this").data
    assert b"No course matches" in client.get("/catalogue?level=advanced").data
    assert client.get("/catalogue?level=<script>").status_code == 200


def test_course_and_module_pages(client, courses, trainee):
    page = client.get("/courses/demo-course")
    assert b"Start the course" in page.data and b"Read a module" in page.data
    module = client.get("/courses/demo-course/first-steps")
    assert module.status_code == 200
    assert b'class="codehilite"' in module.data and b"<table>" in module.data
    assert b"alert('xss')" not in module.data and b"javascript:" not in module.data
    assert b"onclick" not in module.data
    assert b'rel="next"' in module.data


def test_unknown_pages_are_friendly_404s(client, courses, trainee):
    for url in ("/courses/nope", "/courses/demo-course/nope", "/nothing-here"):
        response = client.get(url)
        assert response.status_code == 404
        assert b"Go to your dashboard" in response.data


def test_course_images_are_served_only_from_the_course_folder(client, courses, trainee):
    image = client.get("/courses/demo-course/assets/images/diagram.png")
    assert image.status_code == 200 and image.mimetype == "image/png"
    for bad in (
        "../../../etc/passwd",
        "images/../../course.yaml",
        "%2e%2e/%2e%2e/etc/hosts.png",
        "course.yaml",
        "01-first-steps.md",
    ):
        assert client.get(f"/courses/demo-course/assets/{bad}").status_code == 404


def test_pages_need_a_signed_in_user(client, courses):
    response = client.get("/courses/demo-course")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_quiz_is_graded_on_the_server_and_can_be_retried(client, courses, trainee):
    wrong = client.post(QUIZ_URL, data={"q0": "1", "q1": "1"})
    assert b"You got 0 of 2 right" in wrong.data
    assert b"600 is rw for the owner" in wrong.data
    early = client.post("/courses/demo-course/first-steps/complete")
    assert early.headers["Location"].endswith("/courses/demo-course/first-steps#finish")
    page = client.get(early.headers["Location"]).get_data(as_text=True)
    # The refusal is said in the Finish section, where the trainee clicked, not at the top.
    assert page.index('id="complete-result"') > page.index('id="complete-h"')
    assert "Not yet: pass the quiz" in page
    assert re.search(r'id="complete-button"[^>]*disabled', page)  # and the button waits
    right = client.post(QUIZ_URL, data={"q0": "2", "q1": ["1", "2"]})
    assert b"You got 2 of 2 right" in right.data and b"You passed the quiz" in right.data
    done = client.post("/courses/demo-course/first-steps/complete", follow_redirects=True)
    assert b"is complete" in done.data
    assert b"1 of 2 modules done" in client.get("/").data


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"q0": "2", "q1": "1", "q7": "1"}, b"Unknown question"),
        ({"q0": "9", "q1": "1"}, b"that choice does not exist"),
        ({"q0": "0", "q1": "1"}, b"that choice does not exist"),
        ({"q0": "two", "q1": "1"}, b"answers are choice numbers"),
        ({"q0": ["1", "2"], "q1": "1"}, b"takes one answer"),
    ],
)
def test_tampered_quiz_submissions_get_a_400(client, courses, trainee, form, message):
    response = client.post(QUIZ_URL, data=form)
    assert response.status_code == 400
    assert message in response.data


def test_quiz_submission_to_a_module_without_quiz_or_unknown_module(client, courses, trainee):
    assert client.post("/courses/demo-course/next-steps/quiz", data={"q0": "1"}).status_code == 400
    assert client.post("/courses/demo-course/ghost/quiz", data={}).status_code == 404


def test_home_page_continues_where_you_left_off(client, courses, trainee):
    client.get("/courses/demo-course/next-steps")
    home = client.get("/")
    assert b"Continue where you left off" in home.data and b"Next steps" in home.data


def test_sync_keeps_the_previous_version_when_a_course_breaks(app, tmp_path):
    from lms.catalog.services import sync_courses

    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    with app.app_context():
        assert sync_courses(folder).created == ["demo-course"]
        module = folder / "demo-course" / "02-next-steps.md"
        module.write_text(module.read_text().replace("Plain text", "Changed text"))
        (folder / "demo-course" / "03-broken.md").write_text("---\ntitle: [unclosed\n---\n")
        report = sync_courses(folder)
        assert report.issues and "03-broken.md:2" in str(report.issues[0])
        course = db.session.scalar(db.select(Course))
        assert [m.slug for m in course.live_modules] == ["first-steps", "next-steps"]
        assert "Plain text" in course.live_modules[1].body_html
        (folder / "demo-course" / "03-broken.md").unlink()
        assert sync_courses(folder).updated == ["demo-course"]
        db.session.refresh(course)
        assert "Changed text" in course.live_modules[1].body_html


def test_removed_module_is_retired_not_deleted(app, tmp_path):
    from lms.catalog.services import sync_courses

    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    with app.app_context():
        sync_courses(folder)
        (folder / "demo-course" / "02-next-steps.md").unlink()
        sync_courses(folder)
        course = db.session.scalar(db.select(Course))
        assert [m.slug for m in course.live_modules] == ["first-steps"]
        assert len(course.modules) == 2


def test_a_course_whose_lab_is_broken_is_not_imported(app, tmp_path):
    from lms.catalog.services import sync_courses

    folder, labs = tmp_path / "courses", tmp_path / "labs"
    shutil.copytree(FIXTURE_COURSES, folder)
    module = folder / "demo-course" / "01-first-steps.md"
    module.write_text(module.read_text().replace("duration: 10\n", "duration: 10\nlab: tiny\n", 1))
    (labs / "tiny").mkdir(parents=True)
    (labs / "tiny" / "Dockerfile").write_text("FROM lms-base/busybox:latest\n")
    (labs / "tiny" / "lab.yaml").write_text("title: Tiny\nnetwork: wide\n")
    with app.app_context():
        report = sync_courses(folder, labs)
        assert report.created == [] and db.session.scalar(db.select(Course)) is None
        assert [f"{i.line}: {i.message}" for i in report.issues] == [
            "2: network: 'wide' is not one of isolated, none"
        ]
        (labs / "tiny" / "lab.yaml").write_text("title: Tiny\nnetwork: isolated\n")
        assert sync_courses(folder, labs).created == ["demo-course"]
