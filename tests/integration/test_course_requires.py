"""`requires:` in course.yaml: validated by the loader, shown in the catalogue, on the
course page and in the API; the shipped incident-response course requires Linux."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lms.catalog.loader import load_course, load_courses
from lms.content import ContentError

ROOT = Path(__file__).resolve().parents[2]


def write_course(root: Path, slug: str, title: str, extra: str = "") -> Path:
    folder = root / slug
    folder.mkdir(parents=True)
    (folder / "course.yaml").write_text(
        textwrap.dedent(f"title: {title}\nsummary: About {title}.\n") + extra
    )
    (folder / "01-intro.md").write_text("---\ntitle: Intro\n---\nHello.\n")
    return folder


@pytest.fixture
def two_courses(tmp_path) -> Path:
    root = tmp_path / "courses"
    write_course(root, "basics", "Basics first")
    write_course(root, "advanced", "Advanced next", "requires: [basics]\n")
    return root


def test_requires_names_courses_next_to_this_one(two_courses):
    course = load_course(two_courses / "advanced")
    assert course.requires == ["basics"]
    assert load_course(two_courses / "basics").requires == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[nowhere]", "requires: no course 'nowhere'"),
        ("[broken]", "requires: a course cannot require itself"),
        ("[Not A Slug]", "requires: 'Not A Slug' is not a course slug"),
        ("basics", "'requires' must be a list"),
    ],
)
def test_bad_requires_is_refused_with_its_line(tmp_path, value, message):
    write_course(tmp_path, "basics", "Basics")
    folder = write_course(tmp_path, "broken", "Broken", f"level: beginner\nrequires: {value}\n")
    with pytest.raises(ContentError) as caught:
        load_course(folder)
    found = [i for i in caught.value.issues if message in i.message]
    assert found and found[0].line == 4, [str(i) for i in caught.value.issues]


def test_shipped_incident_response_requires_linux():
    courses, issues = load_courses(ROOT / "courses")
    assert not issues
    by_slug = {c.slug: c for c in courses}
    assert by_slug["incident-response"].requires == ["linux-fundamentals"]
    assert "siem" not in by_slug["incident-response"].tags  # the course has no SIEM content


def test_catalogue_course_page_and_api_show_what_a_course_requires(
    app, client, trainee, two_courses
):
    from lms.catalog.services import sync_courses

    with app.app_context():
        report = sync_courses(two_courses)
        assert not report.issues, report.issues
    catalogue = client.get("/catalogue").get_data(as_text=True)
    assert "Requires: Basics first" in catalogue
    page = client.get("/courses/advanced").get_data(as_text=True)
    assert "This course builds on" in page and 'href="/courses/basics"' in page
    assert "builds on" not in client.get("/courses/basics").get_data(as_text=True)
    api = client.get("/api/v1/courses").get_json()
    listed = api if isinstance(api, list) else api.get("courses", api)
    assert {"slug": "advanced", "requires": ["basics"]}.items() <= next(
        c for c in listed if c["slug"] == "advanced"
    ).items()
