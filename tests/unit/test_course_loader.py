import textwrap

import pytest

from lms.catalog.loader import load_course, load_courses
from lms.content import ContentError
from tests.conftest import FIXTURE_COURSES, ROOT


def write(folder, name, content):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(content).lstrip())
    return path


def test_fixture_course_loads():
    course = load_course(FIXTURE_COURSES / "demo-course")
    assert [m.slug for m in course.modules] == ["first-steps", "next-steps"]
    first = course.modules[0]
    assert first.title == "First steps" and first.duration == 10
    assert len(first.quiz) == 2 and first.quiz[1].multiple
    assert "```quiz" not in first.body_html and "<script" not in first.body_html
    assert "/courses/demo-course/assets/images/diagram.png" in first.body_html


def test_every_error_is_reported_with_file_and_line(tmp_path):
    course = tmp_path / "broken"
    write(
        course,
        "course.yaml",
        """
        title: Broken
        level: expert
        estimated_hours: -1
    """,
    )
    write(
        course,
        "01-a.md",
        """
        ---
        duration: ten
        lab: no-such-lab
        ---
        Body

        ```quiz
        - question: Q?
          choices: [a, b]
          answer: 3
        - choices: [a]
          answer: 1
        ```
    """,
    )
    write(course, "Notes.md", "stray")
    with pytest.raises(ContentError) as err:
        load_course(course, known_labs={"real-lab"})
    messages = [str(i) for i in err.value.issues]
    text = "\n".join(messages)
    assert "course.yaml:1: 'summary' is required" in text
    assert "course.yaml:2: level must be one of" in text
    assert "course.yaml:3: estimated_hours must be a positive number" in text
    assert "01-a.md:2: 'title' is required" in text
    assert "01-a.md:2: duration is a whole number of minutes" in text
    assert "01-a.md:3: unknown lab 'no-such-lab'" in text
    assert "01-a.md:8: quiz question: 'answer' must be between 1 and 2" in text
    assert "01-a.md:11: quiz question: 'question' is required" in text
    assert "Notes.md:1: module file names look like" in text


def test_yaml_syntax_error_names_the_line(tmp_path):
    course = tmp_path / "bad-yaml"
    write(course, "course.yaml", "title: x\nsummary: [unclosed\n")
    write(course, "01-a.md", "---\ntitle: A\n---\nbody\n")
    with pytest.raises(ContentError) as err:
        load_course(course)
    assert any(i.path.endswith("course.yaml") and i.line >= 2 for i in err.value.issues)


def test_image_outside_the_course_is_refused(tmp_path):
    course = tmp_path / "escape"
    write(course, "course.yaml", "title: x\nsummary: y\n")
    write(course, "01-a.md", "---\ntitle: A\n---\n![x](../../etc/passwd.png)\n![y](missing.png)\n")
    with pytest.raises(ContentError) as err:
        load_course(course)
    text = "\n".join(str(i) for i in err.value.issues)
    assert "is outside the course folder" in text and "missing.png' not found" in text


def test_shipped_courses_are_valid():
    labs = {p.name for p in (ROOT / "labs").iterdir()} if (ROOT / "labs").exists() else None
    courses, issues = load_courses(ROOT / "courses", known_labs=labs)
    assert not issues, "\n".join(map(str, issues))
    assert len(courses) >= 3
    for course in courses:
        assert len(course.modules) >= 4, course.slug
        assert all(m.quiz for m in course.modules), course.slug
