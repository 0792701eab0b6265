"""Who a check task runs as (`as:`), and the warning about checks a link can fool."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lms.content.check_links import unguarded_trainee_paths
from lms.content.lab_model import LabSpecError
from lms.content.lab_parser import load_lab, load_labs

ROOT = Path(__file__).resolve().parents[2]

LAB = """\
title: Checks
containers:
  main: {build: ., user: trainee, workdir: /home/trainee}
  target: {build: .}
tasks:
  - {id: plain, title: Plain, run: "test -d /srv/x"}
  - {id: privileged, title: Privileged, run: "test -d /srv/x", as: root}
  - {id: explicit, title: Explicit, run: "test -d /srv/x", as: user}
  - {id: on-target, title: On target, container: target, run: "test -d /srv/x"}
"""


def make_lab(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "check-lab"
    folder.mkdir()
    (folder / "lab.yaml").write_text(textwrap.dedent(text))
    (folder / "Dockerfile").write_text("FROM lms-base/busybox:latest\n")
    return folder


def test_checks_run_as_the_containers_user_unless_the_lab_says_root(tmp_path):
    spec = load_lab(make_lab(tmp_path, LAB))
    users = {task.id: spec.check_user(task) for task in spec.tasks}
    # "" is the image's own user: the target names no user, so its image decides
    assert users == {"plain": "trainee", "privileged": "0", "explicit": "trainee", "on-target": ""}


def test_as_accepts_only_user_or_root_and_only_on_check_tasks(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Bad
        flag: {path: /flag}
        tasks:
          - {id: a, title: A, run: "true", as: admin}
          - {id: b, title: B, type: flag, as: root}
        """,
    )
    with pytest.raises(LabSpecError) as caught:
        load_lab(folder)
    messages = [f"{e.line}: {e.message}" for e in caught.value.errors]
    assert any(m.startswith("4: ") and "'admin' is not user or root" in m for m in messages)
    assert any(m.startswith("5: ") and "as: is only for check tasks" in m for m in messages)


@pytest.mark.parametrize(
    ("command", "unguarded"),
    [
        ('test "$(cat /home/trainee/answer.txt)" = 3', ["/home/trainee/answer.txt"]),
        ('test ! -L /home/trainee/answer.txt && test "$(cat /home/trainee/answer.txt)" = 3', []),
        ("[ ! -h ~/a.txt ] && grep -q x ~/a.txt", []),
        ('test "$(realpath /tmp/out)" = /tmp/out && cat /tmp/out', []),
        ("grep -q done $HOME/notes /var/tmp/x", ["$HOME/notes", "/var/tmp/x"]),
        ("cat /srv/app/config /var/lib/lab/answer", []),  # not the trainee's to write
        ("grep -q ok work/result", []),  # relative: only absolute or ~ paths are recognised
        ("cat /home/trainee/result", ["/home/trainee/result"]),
    ],
)
def test_unguarded_trainee_paths(command, unguarded):
    assert unguarded_trainee_paths(command) == unguarded


def test_the_workdir_counts_as_the_trainees(tmp_path):
    assert unguarded_trainee_paths("cat /work/answer", "/work") == ["/work/answer"]
    assert unguarded_trainee_paths("cat /work/answer", "/") == []


def test_a_check_reading_a_trainee_file_without_a_link_test_gets_a_warning(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Foolable
        containers:
          main: {build: ., user: trainee}
        tasks:
          - id: answer
            title: Answer
            as: root
            run: >-
              test "$(cat /home/trainee/answer.txt)" = "$(cat /var/lib/lab/answer)"
        """,
    )
    spec = load_lab(folder)  # a warning, not an error: the lab still loads
    [warning] = spec.warnings
    assert warning.line == 8  # the line of `run:`
    assert "task answer: the check as root, reads /home/trainee/answer.txt" in warning.message
    assert "test ! -L /home/trainee/answer.txt &&" in warning.message


def test_shipped_labs_have_no_warnings():
    labs, issues = load_labs(ROOT / "labs")
    assert not issues
    assert [str(w) for spec in labs.values() for w in spec.warnings] == []


def test_courses_check_prints_warnings_without_failing(tmp_path, runner):
    labs = tmp_path / "labs"
    labs.mkdir()
    make_lab(labs, "title: L\ntasks:\n  - {id: t, title: T, run: 'cat /tmp/answer'}\n")
    course = tmp_path / "courses" / "c"
    course.mkdir(parents=True)
    (course / "course.yaml").write_text("title: C\nsummary: S\n")
    (course / "01-m.md").write_text("---\ntitle: M\nlab: check-lab\n---\nText\n")
    runner.app.config["LMS_LABS_DIR"] = str(labs)
    result = runner.invoke(args=["courses", "check", str(tmp_path / "courses")])
    assert result.exit_code == 0, result.output
    assert "lab.yaml:3: warning: task t: the check reads /tmp/answer" in result.output
    assert "1 course(s) OK" in result.output


def test_the_platform_runs_a_check_as_the_labs_user(tmp_path):
    from lms.labs import app_runtime
    from tests.lab_support import ApiClient, FakeRuntime, close_lab_app, create_user, make_lab_app

    app = make_lab_app(tmp_path)
    fake = app.extensions[app_runtime.RUNTIME_KEY] = FakeRuntime()
    try:
        _, token = create_user(app, "a@example.org")
        api = ApiClient(app, token)
        session = api.wait_settled(api.start("tiny-lab").json["id"])
        response = api.post(f"/api/v1/labs/sessions/{session['id']}/check", {"task": "make-done"})
        assert response.status_code == 200, response.json
        assert fake.check_users == [""]  # tiny-lab names no user: the image's, never root
    finally:
        close_lab_app(app)
