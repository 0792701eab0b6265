"""The course editor: validated saves, preview, new modules, publishing; authors only."""

import shutil

import pytest

from lms.catalog.models import Course
from lms.extensions import db
from tests.conftest import FIXTURE_COURSES, test_config

EDIT_URL = "/authoring/demo-course/files/02-next-steps.md"


@pytest.fixture
def app(tmp_path):
    from lms import create_app
    from tests.conftest import reset_schema

    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    app = create_app(test_config(tmp_path, LMS_COURSES_DIR=str(folder)))
    with app.app_context():
        reset_schema()
    app.courses_folder = folder
    return app


@pytest.fixture
def instructor(make_user, auth):
    make_user("author@example.org", role="instructor")
    auth.login("author@example.org")


def test_trainees_cannot_open_the_editor(client, trainee):
    assert client.get("/authoring/").status_code == 403
    assert client.post(EDIT_URL, data={"text": "x"}).status_code == 403


def test_a_valid_change_is_saved_and_published(app, client, instructor):
    page = client.get(EDIT_URL)
    assert b"Plain text module" in page.data
    text = "---\ntitle: Next steps, revised\n---\n## More\n\nRevised text.\n"
    response = client.post(EDIT_URL, data={"text": text}, follow_redirects=True)
    assert b"saved" in response.data
    assert (app.courses_folder / "demo-course" / "02-next-steps.md").read_text() == text
    published = client.post("/authoring/demo-course/publish", follow_redirects=True)
    assert b"The course is published" in published.data
    with app.app_context():
        course = db.session.scalar(db.select(Course))
        assert course.live_modules[1].title == "Next steps, revised"


def test_a_breaking_change_is_refused_and_the_file_kept(app, client, instructor):
    before = (app.courses_folder / "demo-course" / "02-next-steps.md").read_text()
    response = client.post(EDIT_URL, data={"text": "---\nduration: soon\n---\nbody\n"})
    assert response.status_code == 422
    assert b"02-next-steps.md:2: &#39;title&#39; is required" in response.data
    assert (app.courses_folder / "demo-course" / "02-next-steps.md").read_text() == before


def test_preview_renders_sanitised_html_and_lists_problems(client, instructor):
    response = client.post(
        EDIT_URL + "/preview",
        json={
            "text": "---\ntitle: T\n---\n# Hi\n<script>x()</script>\n```quiz\n- question: q\n```\n"
        },
    )
    body = response.json
    assert "<h1" in body["html"] and "<script" not in body["html"] and "quiz" not in body["html"]
    assert any("quiz question" in issue for issue in body["issues"])
    assert client.post(EDIT_URL + "/preview", json={"nope": 1}).status_code == 400


def test_only_course_files_can_be_edited(client, instructor):
    for bad in ("../../etc/passwd", "images/diagram.png", "notes.txt", "..%2Fcourse.yaml"):
        assert client.get(f"/authoring/demo-course/files/{bad}").status_code == 404
    assert client.get("/authoring/no-such-course/").status_code == 404


def test_new_module_from_a_template(app, client, instructor):
    response = client.post(
        "/authoring/demo-course/",
        data={"new-filename": "03-third.md", "new-title": "Third", "new-submit": "Add"},
        follow_redirects=True,
    )
    assert b"03-third.md created" in response.data
    assert (app.courses_folder / "demo-course" / "03-third.md").exists()
    bad = client.post(
        "/authoring/demo-course/",
        data={"new-filename": "third.md", "new-title": "Third", "new-submit": "Add"},
    )
    assert b"Name the file like" in bad.data


@pytest.fixture
def read_only_course(app):
    """The demo course folder made read-only in a way root cannot ignore: a read-only bind
    mount of the folder on itself, or else the immutable attribute (chattr +i)."""
    import subprocess

    folder = app.courses_folder / "demo-course"
    tries = [
        (
            [["mount", "--bind", folder, folder], ["mount", "-o", "remount,ro,bind", folder]],
            [["umount", folder]],
        ),
        ([["chattr", "+i", folder]], [["chattr", "-i", folder]]),
    ]
    for make, undo in tries:
        done = []
        for command in make:
            if subprocess.run(command, capture_output=True).returncode:
                break
            done.append(command)
        else:
            break
        if done:
            for command in undo:
                subprocess.run(command, capture_output=True)
    else:
        pytest.fail("cannot make a folder read-only for root here (mount or chattr needed)")
    probe = folder / ".write-probe"
    with pytest.raises(OSError):
        probe.write_text("x")
    try:
        yield folder
    finally:
        for command in undo:
            subprocess.run(command, check=True)


def test_a_save_to_a_read_only_folder_says_why_and_keeps_the_text(
    app, client, instructor, read_only_course
):
    before = (read_only_course / "02-next-steps.md").read_text()
    text = "---\ntitle: Next steps, revised\n---\n## More\n\nMy careful rewrite.\n"
    response = client.post(EDIT_URL, data={"text": text})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Not saved: the server could not write 02-next-steps.md" in page
    assert "read-only file system" in page or "operation not permitted" in page
    assert "My careful rewrite." in page  # the author's text is still in the form
    assert (read_only_course / "02-next-steps.md").read_text() == before
    assert not list(read_only_course.glob(".edit-*"))

    new = client.post(
        "/authoring/demo-course/",
        data={"new-filename": "03-more.md", "new-title": "More", "new-submit": "1"},
    )
    assert new.status_code == 200 and b"could not write 03-more.md" in new.data
