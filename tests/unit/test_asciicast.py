"""Terminal recordings: the asciicast v2 writer, its per-session cap, and following a file."""

from __future__ import annotations

import json

from lms.terminal.asciicast import CAP_NOTICE, AsciicastTail, AsciicastWriter, folder_size


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def read(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    return json.loads(lines[0]), [json.loads(line) for line in lines[1:]]


def test_header_and_events(tmp_path):
    clock = FakeClock()
    writer = AsciicastWriter(
        tmp_path / "a.cast",
        100,
        30,
        1 << 20,
        clock=clock,
        title="Lab: Ann",
        timestamp=1_700_000_000,
    )
    writer.output(b"$ ")
    clock.now += 0.5
    writer.input(b"ls\r")
    clock.now += 0.25
    writer.output(b"file\r\n")
    writer.resize(120, 40)
    writer.close()
    header, events = read(tmp_path / "a.cast")
    assert header == {
        "version": 2,
        "width": 100,
        "height": 30,
        "timestamp": 1_700_000_000,
        "env": {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
        "title": "Lab: Ann",
    }
    assert events == [
        [0.0, "o", "$ "],
        [0.5, "i", "ls\r"],
        [0.75, "o", "file\r\n"],
        [0.75, "r", "120x40"],
    ]
    assert writer.bytes_written == (tmp_path / "a.cast").stat().st_size


def test_utf8_split_across_chunks_is_kept_whole(tmp_path):
    writer = AsciicastWriter(tmp_path / "u.cast", 80, 24, 1 << 20)
    data = "héllo ✓ ".encode()
    writer.output(data[:2])  # "h" + half of "é"
    writer.output(data[2:9])  # the rest of "é", "llo ", half of "✓"
    writer.output(data[9:])
    writer.close()
    _, events = read(tmp_path / "u.cast")
    assert "".join(e[2] for e in events) == "héllo ✓ "


def test_cap_stops_the_recording_with_a_notice(tmp_path):
    cap = 4096
    writer = AsciicastWriter(tmp_path / "c.cast", 80, 24, cap)
    for _ in range(200):
        writer.output(b"x" * 100)
    writer.output(b"after the cap")
    writer.close()
    size = (tmp_path / "c.cast").stat().st_size
    assert writer.truncated and size <= cap
    _, events = read(tmp_path / "c.cast")
    assert events[-1][2] == CAP_NOTICE
    assert sum(1 for e in events if e[2] == CAP_NOTICE) == 1
    assert not any("after the cap" in e[2] for e in events)


def test_cap_is_shared_by_the_terminals_of_a_session(tmp_path):
    cap = 16 * 1024
    first = AsciicastWriter(
        tmp_path / "1.cast",
        80,
        24,
        cap,
        others=lambda: folder_size(tmp_path, exclude=tmp_path / "1.cast"),
    )
    for _ in range(100):
        first.output(b"y" * 100)  # about 11 KB
    first.close()
    second = AsciicastWriter(
        tmp_path / "2.cast",
        80,
        24,
        cap,
        others=lambda: folder_size(tmp_path, exclude=tmp_path / "2.cast"),
    )
    for _ in range(100):
        second.output(b"z" * 100)
    second.close()
    assert not first.truncated and second.truncated
    assert folder_size(tmp_path) <= cap


def test_tail_follows_a_file_being_written(tmp_path):
    writer = AsciicastWriter(tmp_path / "t.cast", 80, 24, 1 << 20)
    tail = AsciicastTail(tmp_path / "t.cast")
    assert tail.poll() == []
    assert tail.header["width"] == 80
    writer.output(b"one")
    writer.output(b"two")
    assert [e[2] for e in tail.poll()] == ["one", "two"]
    with (tmp_path / "t.cast").open("a") as raw:  # half a line: kept for the next poll
        raw.write('[1.0, "o", "thr')
    assert tail.poll() == []
    with (tmp_path / "t.cast").open("a") as raw:
        raw.write('ee"]\n')
    assert [e[2] for e in tail.poll()] == ["three"]
    tail.close()
    writer.close()


def test_resume_appends_after_a_killed_writer_with_times_that_go_on(tmp_path):
    path = tmp_path / "r.cast"
    clock = FakeClock()
    first = AsciicastWriter(path, 80, 24, 1 << 20, clock=clock)
    first.output(b"before\r\n")
    clock.now += 2.0
    first.output(b"later\r\n")
    first._file.write('[2.5, "o", "half-writ')  # its process was killed mid-line
    first._file.flush()

    resumed = AsciicastWriter.resume(path, 1 << 20, clock=FakeClock())
    resumed.output(b"after\r\n")
    resumed.close()

    header, events = read(path)  # every line parses: the half line is gone
    assert header["version"] == 2 and header["width"] == 80
    assert [e[2] for e in events] == ["before\r\n", "later\r\n", "after\r\n"]
    assert events[2][0] >= events[1][0] == 2.0
    assert resumed.bytes_written == path.stat().st_size
