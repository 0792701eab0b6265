"""Symbolic links in a course folder never reach outside it: refused at sync, 404 when served."""

from __future__ import annotations

import shutil
from pathlib import Path

from lms.catalog.services import sync_courses
from tests.conftest import FIXTURE_COURSES


def _course_copy(tmp_path: Path) -> Path:
    courses = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, courses)
    return courses


def test_a_link_leaving_the_course_makes_it_invalid(app, runner, tmp_path):
    courses = _course_copy(tmp_path)
    outside = tmp_path / "outside-secret"
    outside.write_text("not for trainees")
    link = courses / "demo-course" / "images" / "leak.png"
    link.symlink_to(outside)

    check = runner.invoke(args=["courses", "check", str(courses)])

    assert check.exit_code == 1, check.output
    problem = [line for line in check.output.splitlines() if "leak.png" in line]
    assert problem, check.output
    assert problem[0].endswith(
        "images/leak.png:1: symbolic link 'leak.png' points outside the course folder"
    )
    with app.app_context():
        report = sync_courses(courses)
    assert report.created == [] and report.issues


def test_a_linked_folder_leaving_the_course_makes_it_invalid(app, tmp_path):
    courses = _course_copy(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (courses / "demo-course" / "shared").symlink_to(tmp_path / "elsewhere")
    with app.app_context():
        report = sync_courses(courses)
    assert report.created == []
    assert [i.message for i in report.issues] == [
        "symbolic link 'shared' points outside the course folder"
    ]


def test_a_link_inside_the_course_is_fine(app, tmp_path):
    courses = _course_copy(tmp_path)
    (courses / "demo-course" / "images" / "same.png").symlink_to("diagram.png")
    with app.app_context():
        report = sync_courses(courses)
    assert report.created == ["demo-course"], report.issues


def test_a_link_added_after_sync_is_not_served(app, client, trainee, tmp_path):
    courses = _course_copy(tmp_path)
    with app.app_context():
        assert sync_courses(courses).created == ["demo-course"]
    images = courses / "demo-course" / "images"
    secret = tmp_path / "instance" / "secret_key"  # stands for the instance's own key
    secret.parent.mkdir()
    secret.write_text("forge-any-session-with-this")
    (images / "leak.png").symlink_to(secret)
    (images / "alias.png").symlink_to("diagram.png")

    leak = client.get("/courses/demo-course/assets/images/leak.png")

    assert leak.status_code == 404
    assert b"forge-any-session" not in leak.data
    alias = client.get("/courses/demo-course/assets/images/alias.png")
    assert alias.status_code == 200 and alias.mimetype == "image/png"
