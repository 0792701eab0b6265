"""lab.yaml `mode: team` (issue 14): roles with a workstation each, a task's role, injects;
every refusal with its file and line; solo labs as before; a module may not name a team lab."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from lms.catalog.services import check_content
from lms.content.lab_model import InjectCommand, InjectFile, LabSpecError, RoleSpec
from lms.content.lab_parser import load_lab
from tests.conftest import ROOT

TEAM_MINI = ROOT / "tests" / "fixtures" / "labs" / "team-mini"
DOCKERFILE = {"Dockerfile": "FROM lms-base/busybox:latest\n"}

TEAM_LAB = """\
title: Team
mode: team
roles:
  analyst: {title: Analyst, workstation: analyst}
  responder: {title: Responder, workstation: responder}
containers:
  analyst: {build: ., user: analyst}
  responder: {build: ., user: responder}
  web: {build: .}
"""


def make_lab(tmp_path: Path, text: str, slug: str = "team-lab") -> Path:
    folder = tmp_path / slug
    folder.mkdir()
    (folder / "lab.yaml").write_text(textwrap.dedent(text))
    (folder / "Dockerfile").write_text(DOCKERFILE["Dockerfile"])
    return folder


def errors_of(folder: Path) -> list:
    with pytest.raises(LabSpecError) as caught:
        load_lab(folder)
    return caught.value.errors


def line_of(errors: list, fragment: str) -> int | None:
    matches = [e for e in errors if fragment in e.message]
    assert matches, f"no error containing {fragment!r} in {[str(e) for e in errors]}"
    return matches[0].line


def test_the_team_mini_lab_is_parsed():
    spec = load_lab(TEAM_MINI)
    assert spec.mode == "team" and spec.is_team and spec.pool == 0
    assert spec.roles == (
        RoleSpec(
            "blue", "Blue analyst", "blue", "Read the briefing in your home and write your report."
        ),
        RoleSpec("red", "Red operator", "red", ""),
    )
    assert spec.role("red").workstation == "red" and spec.role("green") is None
    assert spec.workstation == "blue"  # the first role's, when the lab names none
    blue, red, team = spec.tasks
    assert (blue.role, red.role, team.role) == ("blue", "red", None)
    # a role's checks run on its workstation, as its user
    assert (spec.task_container(blue), spec.check_user(blue)) == ("blue", "blue")
    assert (spec.task_container(red), spec.check_user(red)) == ("red", "red")
    assert spec.task_container(replace(red, container=None)) == "red"
    assert spec.task_container(replace(team, container=None)) == "blue"
    briefing, alarm = spec.injects
    assert (briefing.id, briefing.at_minute, briefing.run) == ("briefing", 0, None)
    assert briefing.message.startswith("**Briefing**")
    assert briefing.file == InjectFile(
        "blue",
        "/home/blue/briefing.txt",
        "Suspicious logins from 203.0.113.7 since 02:14.\n",
        0o444,
    )
    assert (alarm.at_minute, alarm.file) == (None, None)  # fired by hand only
    assert alarm.run == InjectCommand("target", "sh -c 'echo compromised > /tmp/alarm'", True, 30)
    assert spec.inject("alarm") is alarm and spec.inject("nope") is None
    assert spec.warnings == ()


def test_a_task_container_and_run_as_user_are_kept(tmp_path):
    spec = load_lab(
        make_lab(
            tmp_path,
            TEAM_LAB
            + """\
workstation: responder
tasks:
  - {id: on-web, title: W, role: analyst, container: web, run: "true"}
injects:
  - id: x
    title: X
    message: Hi.
    at: 1440
    run: {container: web, command: id, as: user, timeout_seconds: 5}
    file: {container: analyst, path: /tmp/x, content: "", mode: 600}
""",
        )
    )
    assert spec.workstation == "responder"
    assert spec.task_container(spec.task("on-web")) == "web"
    inject = spec.inject("x")
    assert inject.at_minute == 1440
    assert inject.run == InjectCommand("web", "id", as_root=False, timeout_seconds=5)
    assert inject.file == InjectFile("analyst", "/tmp/x", "", 0o600)


def test_every_team_refusal_has_its_line(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Broken team
        mode: team
        pool: 2
        roles:
          Bad_Name: {title: X, workstation: a}
          one: {workstation: a, colour: red}
          two: {title: Two, workstation: a}
          three: {title: Three, workstation: ghost}
          four: {title: Four}
        containers:
          a: {build: .}
          b: {build: .}
        tasks:
          - {id: t, title: T, role: nobody, run: "true"}
        injects:
          - id: i
            title: I
            at: 1441
            run: {container: ghost, command: "true", as: admin}
          - id: i
            title: Again
            message: M
            at: -1
            file: {container: b, path: relative.txt, content: x, mode: "999"}
          - {id: Not An Id, title: T, message: M, run: {container: a}, file: {container: a, path: /x}}
          - {id: k, title: K, message: M, when: 3}
        """,
    )
    errors = errors_of(folder)
    expected = {
        "pool: must be 0 in a team lab": 3,
        "role name 'Bad_Name' must be lowercase letters": 5,
        "role one: title: is required": 6,
        "unknown key 'colour' (known: description, title, workstation)": 6,
        "role two: workstation 'a' is already role one's": 7,
        "role three: workstation 'ghost' is not a container of this lab (a, b)": 8,
        "role four: workstation: is required": 9,
        "task t: role 'nobody' is not a role of this lab (one, two, three, four)": 14,
        "inject i: message: is required": 16,
        "inject i: at: 1441 is not a minute of the exercise from 0 to 1440": 18,
        "inject i: container 'ghost' is not a container of this lab (a, b)": 19,
        "inject i: run.as: 'admin' is not root or user": 19,
        "duplicate inject id 'i'": 20,
        "inject i: at: -1 is not a minute": 23,
        "inject i: file.path: 'relative.txt' must be an absolute file path": 24,
        "file.mode: 999 is not an octal file mode like 0444": 24,
        "inject id 'Not An Id' must be lowercase letters": 25,
        "inject Not An Id: run.command: is required": 25,
        "inject Not An Id: file.content: is required": 25,
        "unknown key 'when'": 26,
    }
    for fragment, line in expected.items():
        assert line_of(errors, fragment) == line, fragment
    path = str(folder / "lab.yaml")
    assert all(e.path == path for e in errors)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("title: T\nmode: team\n", "roles: a team lab needs 1 to 8 roles"),
        ("title: T\nmode: team\nroles: {}\n", "roles: a team lab needs 1 to 8 roles"),
        ("title: T\nmode: duo\n", "mode: 'duo' is not one of solo, team"),
        (
            "title: T\nmode: team\ncontainers: {"
            + ", ".join(f"c{n}: {{build: .}}" for n in range(9))
            + "}\nroles: {"
            + ", ".join(f"r{n}: {{title: R, workstation: c{n}}}" for n in range(9))
            + "}\n",
            "roles: a team lab needs 1 to 8 roles",
        ),
    ],
)
def test_a_team_lab_needs_one_to_eight_roles(tmp_path, text, fragment):
    line_of(errors_of(make_lab(tmp_path, text)), fragment)


def test_a_solo_lab_refuses_the_team_keys(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Solo
        roles: {a: {title: A, workstation: main}}
        tasks:
          - {id: t, title: T, role: a, run: "true"}
        injects:
          - {id: i, title: I, message: M}
        """,
    )
    errors = errors_of(folder)
    assert line_of(errors, "roles: is only for team labs (add mode: team)") == 2
    assert line_of(errors, "task t: role: is only for team labs (add mode: team)") == 4
    assert line_of(errors, "injects: is only for team labs (add mode: team)") == 5


def test_solo_labs_are_unchanged(tmp_path):
    spec = load_lab(make_lab(tmp_path, "title: Solo\ntasks:\n  - {id: t, title: T, run: 'true'}\n"))
    assert (spec.mode, spec.is_team, spec.roles, spec.injects) == ("solo", False, (), ())
    assert spec.workstation == "main" and spec.task("t").role is None
    assert spec.task_container(spec.task("t")) == "main"
    assert spec.role("main") is None and spec.inject("t") is None


def test_the_content_hash_follows_the_injects(tmp_path):
    folder = tmp_path / "team-mini"
    shutil.copytree(TEAM_MINI, folder)
    before = load_lab(folder).content_hash
    lab_file = folder / "lab.yaml"
    lab_file.write_text(lab_file.read_text().replace("since 02:14", "since 03:14"))
    assert load_lab(folder).content_hash != before


def test_courses_check_refuses_a_module_naming_a_team_lab(tmp_path):
    labs = tmp_path / "labs"
    labs.mkdir()
    shutil.copytree(TEAM_MINI, labs / "team-mini")
    course = tmp_path / "courses" / "drills"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text("title: Drills\nsummary: S\nlevel: beginner\n")
    module = course / "01-drill.md"
    module.write_text("---\ntitle: Drill\nlab: team-mini\n---\nPlay it.\n")
    _courses, issues = check_content(course.parent, labs)
    assert [(Path(i.path), i.line) for i in issues] == [(module, 3)]
    assert "team labs run from the Exercises page" in issues[0].message


def test_the_content_check_reports_a_broken_team_lab_no_module_names(tmp_path):
    """No module names a team lab, so `lms courses check` looks at every one by itself."""
    labs = tmp_path / "labs"
    labs.mkdir()
    make_lab(labs, TEAM_LAB + "injects:\n  - {id: late, title: Late, message: M, at: 5000}\n")
    make_lab(labs, "title: Unused solo lab\nbogus: 1\n", slug="unused-solo")
    courses = tmp_path / "courses"
    courses.mkdir()
    _courses, issues = check_content(courses, labs)
    assert [Path(i.path).parent.name for i in issues] == ["team-lab"]
    assert "1440" in issues[0].message
