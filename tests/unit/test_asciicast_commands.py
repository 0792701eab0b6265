"""The command lines typed in a terminal, rebuilt from its keystrokes (kept beside recordings)."""

from __future__ import annotations

from lms.terminal.commands import Command, CommandExtractor


def typed(*chunks: bytes, extractor: CommandExtractor | None = None) -> list[Command]:
    extractor = extractor or CommandExtractor()
    found = []
    for chunk in chunks:
        found += extractor.feed_input(chunk)
    return found


def test_enter_ends_a_command():
    assert typed(b"ls -la\r", b"cat ~/.flag\r") == [Command("ls -la"), Command("cat ~/.flag")]


def test_keystrokes_one_by_one_and_empty_lines():
    assert typed(*[bytes([c]) for c in b"pwd\r\r  \r"]) == [Command("pwd")]


def test_line_editing_keys_are_followed():
    assert typed(b"cat ~/.flga\x7f\x7fag\r") == [Command("cat ~/.flag")]  # backspace
    assert typed(b"rm -rf /\x15echo safe\r") == [Command("echo safe")]  # Ctrl-U
    assert typed(b"echo one two\x17three\r") == [Command("echo one three")]  # Ctrl-W
    assert typed(b"sleep 100\x03", b"id\r") == [Command("id")]  # Ctrl-C drops the line


def test_edits_the_platform_cannot_follow_are_marked():
    assert typed(b"cat /etc/pas\t\r") == [Command("cat /etc/pas", edited=True)]  # Tab
    assert typed(b"\x1b[A\r") == [Command("", edited=True)]  # history
    assert typed(b"ech\x1b[Do\r") == [Command("echo", edited=True)]  # arrow left
    assert typed(b"\x1bOA\r") == [Command("", edited=True)]  # arrow in application mode


def test_bracketed_paste_is_not_an_edit():
    assert typed(b"\x1b[200~echo a\recho b\x1b[201~\r") == [Command("echo a"), Command("echo b")]


def test_full_screen_programs_are_not_commands():
    extractor = CommandExtractor()
    assert typed(b"vi notes\r", extractor=extractor) == [Command("vi notes")]
    extractor.feed_output(b"\x1b[?1049h\x1b[H\x1b[2J")
    assert typed(b"ihello\x1b:wq\r", extractor=extractor) == []
    extractor.feed_output(b"\x1b[?1049l$ ")
    assert typed(b"ls\r", extractor=extractor) == [Command("ls")]


def test_utf8_split_between_chunks():
    data = "echo héllo\r".encode()
    assert typed(data[:7], data[7:]) == [Command("echo héllo")]


def test_long_lines_are_bounded():
    [command] = typed(b"a" * 5000 + b"\r")
    assert len(command.text) == 1000
