"""lab.yaml parsing and validation: defaults, every error at once with file:line,
content hashes, and the shipped labs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lms.content import ContentIssue
from lms.content.lab_model import LabSpecError, Limits, parse_size
from lms.content.lab_parser import load_lab, load_labs

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("shell-basics", "suid-hunt", "web-injection", "log-triage")


def make_lab(
    tmp_path: Path, yaml_text: str, files: dict[str, str] | None = None, slug: str = "demo-lab"
) -> Path:
    folder = tmp_path / slug
    folder.mkdir()
    (folder / "lab.yaml").write_text(textwrap.dedent(yaml_text))
    for name, text in (files or {"Dockerfile": "FROM lms-base/busybox:latest\n"}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def errors_of(folder: Path, **kwargs) -> list[ContentIssue]:
    with pytest.raises(LabSpecError) as caught:
        load_lab(folder, **kwargs)
    return caught.value.errors


def find(errors: list[ContentIssue], fragment: str) -> ContentIssue:
    matches = [e for e in errors if fragment in e.message]
    assert matches, f"no error containing {fragment!r} in {[str(e) for e in errors]}"
    return matches[0]


def test_minimal_lab_gets_the_documented_defaults(tmp_path):
    spec = load_lab(make_lab(tmp_path, "title: Minimal\n"))
    assert spec.slug == "demo-lab" and spec.title == "Minimal" and spec.description == ""
    assert (spec.ttl_minutes, spec.max_minutes) == (60, 180)
    assert spec.limits == Limits(memory_bytes=256 * 1024**2, cpus=0.5, pids=128)
    assert spec.network == "isolated"
    assert list(spec.containers) == ["main"] and spec.workstation == "main"
    main = spec.containers["main"]
    assert main.build == "." and main.image is None and main.user is None
    assert main.capabilities == () and main.setuid is False and main.ports == ()
    assert spec.flag is None and spec.tasks == ()
    assert len(spec.content_hash) == 64


def test_full_lab_is_parsed(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Full
        description: "Do **this**."
        ttl_minutes: 30
        max_minutes: 90
        limits: {memory: 1.5g, cpus: 1, pids: 200}
        workstation: attacker
        containers:
          attacker:
            build: attacker
            user: kali
            workdir: /home/kali
            capabilities: [net_raw, CAP_NET_ADMIN]
          target: {image: "registry.example/app:1", ports: [80, 8080], setuid: true}
        flag: {container: target, path: /root/flag.txt, mode: 0440, uid: 1000}
        tasks:
          - {id: flag, title: Get the flag, type: flag, points: 5, hint: Look.}
          - id: fixed
            title: Fix it
            container: target
            run: test -f /ok
            timeout_seconds: 5
        """,
        {"attacker/Dockerfile": "FROM lms-base/debian:bookworm\n"},
    )
    spec = load_lab(folder)
    assert spec.limits == Limits(memory_bytes=int(1.5 * 1024**3), cpus=1.0, pids=200)
    assert spec.workstation == "attacker"
    attacker, target = spec.containers["attacker"], spec.containers["target"]
    assert attacker.capabilities == ("NET_RAW", "NET_ADMIN")
    assert target.image == "registry.example/app:1" and target.ports == (80, 8080)
    assert target.setuid is True and spec.ports == {"target": (80, 8080)}
    assert (
        spec.flag.mode == 0o440 and spec.flag.uid == 1000 and spec.flag.gid is None
    )  # group: the owner's own
    flag_task, check_task = spec.tasks
    assert flag_task.type == "flag" and flag_task.container == "attacker"
    assert flag_task.points == 5 and flag_task.hint == "Look."
    assert check_task.type == "check" and check_task.run == "test -f /ok"
    assert check_task.points == 10 and check_task.timeout_seconds == 5
    assert spec.task("fixed") is check_task and spec.task("nope") is None


def test_every_error_is_reported_with_file_and_line(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Broken
        limits: {memory: 10zb, cpus: -1, pids: 0}
        network: bridged
        workstation: kali
        containers:
          main:
            build: nowhere
            ports: [80, http]
          web:
            build: web
            capabilities: [SYS_ADMIN, WARP_DRIVE]
        flag:
          container: db
          path: flag.txt
        tasks:
          - id: one
            title: A check without a command
            type: check
          - id: one
            title: Duplicate
            type: check
            run: "true"
            container: ghost
          - id: two
            title: Wrong type
            type: quiz
        colour: blue
        """,
        {"web/README": "no Dockerfile here\n"},
    )
    errors = errors_of(folder)
    path = str(folder / "lab.yaml")
    assert all(e.path == path for e in errors)
    expected = {
        "memory: 10zb is not a size like 256m": 2,
        "cpus: -1 is not a number of CPUs": 2,
        "pids: 0 is not a whole number": 2,
        "network: 'bridged' is not one of isolated, none": 3,
        "workstation: 'kali' is not a container": 4,
        "build: folder nowhere not found": 7,
        "port 'http' is not an integer": 8,
        "build: folder web has no Dockerfile": 10,
        "capability SYS_ADMIN is not allowed": 11,
        "unknown capability 'WARP_DRIVE'": 11,
        "container 'db' is not a container of this lab": 13,
        "flag.path: flag.txt must be an absolute file path": 14,
        "task one: a check task needs run:": 16,
        "duplicate task id 'one'": 19,
        "container 'ghost' is not a container": 23,
        "type 'quiz' is not flag or check": 26,
        "unknown key 'colour'": 27,
    }
    for fragment, line in expected.items():
        assert find(errors, fragment).line == line, fragment
    assert (
        str(find(errors, "10zb")) == f"{path}:2: memory: 10zb is not a size like "
        "256m (at least 16m)"
    )


def test_flag_task_needs_a_flag_section(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: No flag
        tasks:
          - {id: f, title: Submit the flag, type: flag}
          - {id: c, title: Check, type: flag, run: "true"}
        """,
    )
    errors = errors_of(folder)
    assert find(errors, "task f: a flag task needs a flag: section").line == 3
    assert find(errors, "run: is only for check tasks").line == 4


def test_limits_above_the_platform_maximum(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Greedy
        limits:
          memory: 8g
          cpus: 4
          pids: 100
        """,
    )
    top = Limits(memory_bytes=2 * 1024**3, cpus=2.0, pids=512)
    errors = errors_of(folder, max_limits=top)
    assert find(errors, "memory: 8g is above the platform maximum of 2g").line == 3
    assert find(errors, "cpus: 4 is above the platform maximum of 2").line == 4
    assert len(errors) == 2
    assert load_lab(folder).limits.memory_bytes == 8 * 1024**3  # no maximum given


def test_several_containers_need_a_workstation(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Two
        containers:
          a: {image: "x:1"}
          b: {image: "y:1"}
        network: none
        """,
    )
    errors = errors_of(folder)
    find(errors, "workstation: required when there are several containers")
    assert find(errors, "network: none allows one container only").line == 5


def test_container_needs_build_or_image_not_both(tmp_path):
    folder = make_lab(
        tmp_path,
        """\
        title: Sources
        workstation: a
        containers:
          a: {image: "x:1", build: .}
          b: {user: root}
          Bad_Name: {image: "z:1"}
        """,
    )
    errors = errors_of(folder)
    assert find(errors, "container a: give build or image, not both").line == 4
    assert find(errors, "container b: needs build (a folder) or image").line == 5
    assert find(errors, "container name 'Bad_Name' must be").line == 6


def test_build_folder_must_stay_inside_the_lab(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "Dockerfile").write_text("FROM scratch\n")
    folder = make_lab(tmp_path, "title: Escape\ncontainers:\n  main: {build: ../elsewhere}\n")
    assert find(errors_of(folder), "is outside the lab folder").line == 3


def test_yaml_syntax_error_has_a_line(tmp_path):
    folder = make_lab(tmp_path, "title: Bad\ntasks:\n  - id: a\n   title: misaligned\n")
    (error,) = errors_of(folder)
    assert error.message.startswith("invalid YAML") and error.line == 4


def test_missing_title_and_non_mapping(tmp_path):
    assert (
        find(errors_of(make_lab(tmp_path, "description: no title\n")), "title is required").line
        == 1
    )
    other = make_lab(tmp_path, "- just\n- a list\n", slug="listy")
    find(errors_of(other), "must be a mapping")


@pytest.mark.parametrize(
    "written, mode", [("0400", 0o400), ('"0644"', 0o644), ("600", 0o600), ("0o440", 0o440)]
)
def test_flag_mode_is_read_as_octal(tmp_path, written, mode):
    folder = make_lab(tmp_path, f"title: M\nflag: {{path: /f, mode: {written}}}\n")
    assert load_lab(folder).flag.mode == mode


def test_bad_flag_mode(tmp_path):
    folder = make_lab(tmp_path, "title: M\nflag:\n  path: /f\n  mode: 0999\n")
    assert find(errors_of(folder), "flag.mode: 0999 is not an octal file mode").line == 4


@pytest.mark.parametrize(
    "text, size",
    [
        ("256m", 256 * 1024**2),
        ("1G", 1024**3),
        ("512MiB", 512 * 1024**2),
        ("64mb", 64 * 1024**2),
        (1048576, 1048576),
        ("10zb", None),
        ("", None),
        (True, None),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_content_hash_follows_build_folders(tmp_path):
    folder = make_lab(
        tmp_path,
        "title: H\ncontainers:\n  main: {build: img}\n",
        {"img/Dockerfile": "FROM lms-base/busybox:latest\n", "notes.md": "a"},
    )
    first = load_lab(folder).content_hash
    (folder / "notes.md").write_text("changed outside the build folder")
    assert load_lab(folder).content_hash == first
    (folder / "img" / "__pycache__").mkdir()
    (folder / "img" / "__pycache__" / "x.pyc").write_bytes(b"cache")
    assert load_lab(folder).content_hash == first
    (folder / "img" / "setup.sh").write_text("echo new file\n")
    second = load_lab(folder).content_hash
    assert second != first
    (folder / "lab.yaml").write_text("title: H2\ncontainers:\n  main: {build: img}\n")
    assert load_lab(folder).content_hash not in (first, second)


def test_load_labs_collects_valid_labs_and_issues(tmp_path):
    make_lab(tmp_path, "title: Good\n", slug="good")
    make_lab(tmp_path, "title: Bad\nnetwork: wide\n", slug="bad")
    (tmp_path / "not-a-lab").mkdir()
    labs, issues = load_labs(tmp_path)
    assert list(labs) == ["good"]
    assert [str(i) for i in issues] == [
        f"{tmp_path / 'bad' / 'lab.yaml'}:2: network: 'wide' is not one of isolated, none"
    ]
    assert load_labs(tmp_path / "missing")[1][0].message == "labs folder not found"


def test_issue_without_line():
    assert (
        str(ContentIssue("labs/x/lab.yaml", None, "lab.yaml not found"))
        == "labs/x/lab.yaml: lab.yaml not found"
    )


def test_shipped_labs_load_without_error():
    labs, issues = load_labs(ROOT / "labs")
    assert issues == [], [str(i) for i in issues]
    assert set(SHIPPED) <= set(labs)
    for slug in SHIPPED:
        spec = labs[slug]
        assert spec.description and spec.tasks and spec.flag is not None
        assert (spec.ttl_minutes, spec.max_minutes) == (60, 180)
        assert spec.limits == Limits(memory_bytes=256 * 1024**2, cpus=0.5, pids=128)
        assert spec.network == "isolated"
        assert all(t.hint for t in spec.tasks)
        assert {t.type for t in spec.tasks} == {"flag", "check"}
    web = labs["web-injection"]
    assert set(web.containers) == {"workstation", "target"} and web.workstation == "workstation"
    assert web.containers["target"].ports == (8080,) and web.flag.container == "target"
    assert labs["suid-hunt"].containers["main"].setuid is True
    assert labs["shell-basics"].flag.uid == 1000
