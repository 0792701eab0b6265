"""Terminal recordings in the asciicast v2 format, with a size cap per lab session.

A file is a JSON header line, then one JSON array per event:
``[seconds, "o", text]`` for output, ``"i"`` for input, ``"r"`` for a resize
(``"COLSxROWS"``). See https://docs.asciinema.org/manual/asciicast/v2/.

Every terminal of a lab session writes its own file in the session's folder;
the cap is on the folder: a writer counts its siblings' sizes, so the
session's recordings together stop near the cap (over it by at most one event
of each terminal writing at the same moment). The header and a closing notice
are always written, so a capped recording still replays and says why it ends.
"""

from __future__ import annotations

import codecs
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

SUFFIX = ".cast"
CAP_NOTICE = (
    "\r\n\x1b[33m[recording stopped: this lab session reached its recording size limit]\x1b[0m\r\n"
)
# Below this distance from the cap, the siblings' sizes are read again before each event.
RECHECK_MARGIN = 256 * 1024


def folder_size(folder: Path, exclude: Path | None = None) -> int:
    """Total size of the recordings in ``folder`` (except ``exclude``)."""
    total = 0
    for path in folder.glob(f"*{SUFFIX}"):
        if exclude is not None and path == exclude:
            continue
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total


class AsciicastWriter:
    """Append events to an asciicast v2 file as they happen (flushed at once, so a
    live watcher reading the file sees them).

    ``cap_bytes`` bounds the file together with ``others()`` (the bytes the
    session's other recordings use). Not thread-safe: one writer per terminal,
    called from one thread at a time (the terminal serialises its calls).
    """

    def __init__(
        self,
        path: Path,
        width: int,
        height: int,
        cap_bytes: int,
        *,
        others: Callable[[], int] = lambda: 0,
        title: str | None = None,
        env: dict[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        timestamp: int | None = None,
    ):
        self.path = Path(path)
        self.cap = cap_bytes
        self.truncated = False
        self.closed = False
        self._others = others
        self._others_bytes = others()
        self._clock = clock
        self._started = clock()
        self._decoders = {
            code: codecs.getincrementaldecoder("utf-8")(errors="replace") for code in "oi"
        }
        header = {
            "version": 2,
            "width": int(width),
            "height": int(height),
            "timestamp": int(time.time() if timestamp is None else timestamp),
            "env": env or {"TERM": "xterm-256color", "SHELL": "/bin/bash"},
        }
        if title:
            header["title"] = title
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w", encoding="utf-8", newline="\n")
        self.bytes_written = 0
        self._write(json.dumps(header, ensure_ascii=False) + "\n")

    @classmethod
    def resume(
        cls,
        path: Path,
        cap_bytes: int,
        *,
        others: Callable[[], int] = lambda: 0,
        truncated: bool = False,
        width: int = 80,
        height: int = 24,
        clock: Callable[[], float] = time.monotonic,
    ) -> AsciicastWriter:
        """Go on appending to a recording another writer (maybe another process) began.

        Event times go on from the last event's, plus the time since the file was
        last written; a half-written last line (its writer was killed) is cut off,
        so the file stays valid asciicast v2. A missing file is begun afresh.
        """
        path = Path(path)
        last_time, size = _last_event_time(path)
        if last_time is None:
            return cls(path, width, height, cap_bytes, others=others, clock=clock)
        writer = cls.__new__(cls)
        writer.path, writer.cap, writer.truncated, writer.closed = path, cap_bytes, truncated, False
        writer._others = others
        writer._others_bytes = others()
        writer._clock = clock
        gap = max(0.0, time.time() - path.stat().st_mtime)
        writer._started = clock() - (last_time + gap)
        writer._decoders = {
            code: codecs.getincrementaldecoder("utf-8")(errors="replace") for code in "oi"
        }
        writer._file = path.open("a", encoding="utf-8", newline="\n")
        writer.bytes_written = size
        return writer

    @property
    def elapsed(self) -> float:
        return self._clock() - self._started

    def output(self, data: bytes) -> None:
        self._event("o", self._decoders["o"].decode(data))

    def input(self, data: bytes) -> None:
        self._event("i", self._decoders["i"].decode(data))

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{int(cols)}x{int(rows)}")

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._file.close()

    # -- internals ------------------------------------------------------------------

    def _event(self, code: str, text: str) -> None:
        if self.closed or self.truncated or not text:
            return
        line = _line(self.elapsed, code, text)
        size = len(line.encode("utf-8"))
        notice = len(_line(self.elapsed, "o", CAP_NOTICE).encode("utf-8"))
        if self._near_cap(size + notice):
            self._others_bytes = self._others()
        if self.bytes_written + self._others_bytes + size + notice > self.cap:
            self.truncated = True
            self._write(_line(self.elapsed, "o", CAP_NOTICE))
            return
        self._write(line)

    def _near_cap(self, size: int) -> bool:
        return self.bytes_written + self._others_bytes + size > self.cap - RECHECK_MARGIN

    def _write(self, line: str) -> None:
        self._file.write(line)
        self._file.flush()
        self.bytes_written += len(line.encode("utf-8"))


def _last_event_time(path: Path) -> tuple[float | None, int]:
    """(time of the last event or 0.0 after a bare header, size) of a recording, after
    cutting a half-written last line; (None, 0) when there is no readable header."""
    try:
        with path.open("rb+") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - 64 * 1024))
            tail = file.read()
            if not tail.endswith(b"\n"):
                size -= len(tail) - (tail.rfind(b"\n") + 1)
                file.truncate(size)
                tail = tail[: tail.rfind(b"\n") + 1]
    except FileNotFoundError:
        return None, 0
    for raw in reversed(tail.splitlines()):
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, list) and value and isinstance(value[0], int | float):
            return float(value[0]), size
        if isinstance(value, dict):
            return 0.0, size
    return (0.0, size) if size else (None, 0)


def recorded_output(path: Path, max_bytes: int) -> bytes:
    """The last ``max_bytes`` of a recording's output (to redraw a reloaded page's
    terminal when its shell is re-attached from another process); b"" without a file."""
    try:
        with Path(path).open("rb") as file:
            size = file.seek(0, os.SEEK_END)
            file.seek(max(0, size - 4 * max_bytes))
            lines = file.read().split(b"\n")[1:]  # the first may be cut
    except FileNotFoundError:
        return b""
    texts = []
    for raw in lines:
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, list) and len(value) == 3 and value[1] == "o":
            texts.append(str(value[2]))
    return "".join(texts).encode("utf-8")[-max_bytes:]


def _line(seconds: float, code: str, text: str) -> str:
    return json.dumps([round(seconds, 6), code, text], ensure_ascii=False) + "\n"


class AsciicastTail:
    """Follow a recording being written: the header, then events as they are appended.

    Used by the live watch: it works across worker processes because the file is
    the only thing shared. ``poll`` returns the complete events appended since
    the last call (a half-written last line waits for the next poll).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = self.path.open("rb")
        self._rest = b""
        self.header: dict | None = None

    def poll(self) -> list[list]:
        chunk = self._file.read()
        if not chunk:
            return []
        lines = (self._rest + chunk).split(b"\n")
        self._rest = lines.pop()
        events = []
        for raw in lines:
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except ValueError:
                continue
            if self.header is None and isinstance(value, dict):
                self.header = value
            elif isinstance(value, list) and len(value) == 3:
                events.append(value)
        return events

    def close(self) -> None:
        self._file.close()


def read_events(path: Path) -> tuple[dict, Iterator[list]]:
    """The header and the events of a finished recording."""
    tail = AsciicastTail(path)
    try:
        events = tail.poll()
    finally:
        tail.close()
    return tail.header or {}, iter(events)
