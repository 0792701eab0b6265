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


def offer(app, centre_slug: str, course_slug: str, shared: bool = False) -> int:
    """The centre (made if missing) offers the course (synced first); its id."""
    from lms.catalog.services import sync_courses
    from lms.centres.models import Centre, CentreCourse

    with app.app_context():
        sync_courses(app.courses_folder)
        centre = db.session.scalar(db.select(Centre).where(Centre.slug == centre_slug))
        if centre is None:
            centre = Centre(slug=centre_slug, name=centre_slug.title())
            db.session.add(centre)
            db.session.flush()
        course = db.session.scalar(db.select(Course).where(Course.slug == course_slug))
        db.session.add(CentreCourse(centre_id=centre.id, course_id=course.id, shared=shared))
        db.session.commit()
        return centre.id


@pytest.fixture
def instructor(app, make_user, auth):
    """An instructor of a centre that offers the demo course."""
    centre_id = offer(app, "home", "demo-course")
    make_user("author@example.org", role="instructor", centre_id=centre_id, name="Ada Author")
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


def add_course_folder(app, slug: str, title: str) -> None:
    folder = app.courses_folder / slug
    shutil.copytree(app.courses_folder / "demo-course", folder)
    meta = (folder / "course.yaml").read_text()
    (folder / "course.yaml").write_text(
        "\n".join(
            f"title: {title}" if line.startswith("title:") else line for line in meta.splitlines()
        )
        + "\n"
    )


def test_instructors_edit_only_courses_of_their_centres_or_shared_with_them(app, make_user, auth):
    from lms.centres.models import Centre, Cohort, centre_partners, cohort_instructors

    add_course_folder(app, "shared-course", "Shared by a partner")
    add_course_folder(app, "private-course", "Kept by a partner")
    add_course_folder(app, "open-course", "Offered by no centre")
    home = offer(app, "home", "demo-course")
    partner = offer(app, "partner", "shared-course", shared=True)
    offer(app, "partner", "private-course")
    with app.app_context():
        db.session.execute(centre_partners.insert().values(centre_id=partner, partner_id=home))
        cohort = Cohort(centre_id=partner, name="Partner cohort")
        db.session.add(cohort)
        db.session.commit()
        cohort_id = cohort.id
    make_user("home@example.org", role="instructor", centre_id=home)
    visitor = make_user("visitor@example.org", role="instructor")
    make_user("boss@example.org", role="centre_admin", centre_id=home)
    make_user("admin@example.org", role="platform_admin")

    auth.login("home@example.org")
    listed = auth.client.get("/authoring/").get_data(as_text=True)
    assert "Shared by a partner" in listed and ">Demo course" in listed.replace("\n", "")
    assert "Kept by a partner" not in listed and "Offered by no centre" not in listed
    assert auth.client.get("/authoring/shared-course/files/course.yaml").status_code == 200
    for slug in ("private-course", "open-course"):
        assert auth.client.get(f"/authoring/{slug}/").status_code == 403
        assert auth.client.post(f"/authoring/{slug}/publish").status_code == 403
        preview = auth.client.post(
            f"/authoring/{slug}/files/course.yaml/preview", json={"text": ""}
        )
        assert preview.status_code == 403
    assert auth.client.get("/authoring/no-such-course/").status_code == 404
    assert 'href="/authoring/"' in auth.client.get("/catalogue").get_data(as_text=True)

    auth.logout()
    auth.login("visitor@example.org")  # no centre, no cohort: nothing to edit, no menu link
    assert 'href="/authoring/"' not in auth.client.get("/catalogue").get_data(as_text=True)
    assert b"There is no course you can edit" in auth.client.get("/authoring/").data
    with app.app_context():  # teaching a partner's cohort makes its courses theirs
        db.session.execute(cohort_instructors.insert().values(cohort_id=cohort_id, user_id=visitor))
        db.session.commit()
    assert auth.client.get("/authoring/private-course/").status_code == 200

    auth.logout()
    auth.login("boss@example.org")
    assert auth.client.get("/authoring/").status_code == 403
    assert 'href="/authoring/"' not in auth.client.get("/catalogue").get_data(as_text=True)

    auth.logout()
    auth.login("admin@example.org")
    listed = auth.client.get("/authoring/").get_data(as_text=True)
    assert "Kept by a partner" in listed and "Offered by no centre" in listed
    with app.app_context():
        assert db.session.get(Centre, home) is not None


def test_courses_listed_by_title_with_state_and_history(app, client, instructor):
    listed = client.get("/authoring/").get_data(as_text=True)
    assert 'data-state="published"' in listed and "no change made here yet" in listed
    text = (app.courses_folder / "demo-course" / "02-next-steps.md").read_text()
    client.post(EDIT_URL, data={"text": text + "\nOne more line.\n"})
    listed = client.get("/authoring/").get_data(as_text=True)
    assert 'data-state="draft"' in listed
    assert "02-next-steps.md saved by Ada Author (+2 −0 lines)" in listed
    client.post("/authoring/demo-course/publish")
    course = client.get("/authoring/demo-course/").get_data(as_text=True)
    assert 'data-state="published"' in course
    history = course.split('id="course-history"')[1]
    assert history.index("published by Ada Author") < history.index("02-next-steps.md saved by")


def test_a_module_naming_a_team_lab_is_refused_and_the_file_kept(app, client, instructor):
    before = (app.courses_folder / "demo-course" / "02-next-steps.md").read_text()
    text = "---\ntitle: Next steps\nlab: web-breach\n---\nPlay the breach.\n"
    response = client.post(EDIT_URL, data={"text": text})
    assert response.status_code == 422
    assert b"team labs run from the Exercises page" in response.data
    assert (app.courses_folder / "demo-course" / "02-next-steps.md").read_text() == before
