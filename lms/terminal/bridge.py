"""The WebSocket bridge between xterm.js in the page and a shell in the lab.

One ``Terminal`` per browser tab and web process: a shell with a TTY
(``ShellChannel``), its recording, and a reader thread that copies the shell's
output to the browser and to the recording. The shell is *held* in the lab (a
session holder runs it there; see ``lms.labs.runtime.docker.shells``): it
outlives the WebSocket and this process. The WebSocket may drop and come back
(a network blip, a page reload, a restarted web server): a reconnect reaching
this process finds its ``Terminal`` here and gets what the browser missed; one
reaching any other process finds the terminal's row in the database
(``TerminalRecording``: the held shell's name and pid) and attaches to the same
shell, taking it over (this process's attachment is stopped; it notices and
lets go), and appends to the same recording. The terminal ends, and kills the
shell's whole process group and its holder, when the trainee closes the tab,
when nobody came back within ``LMS_TERMINAL_REATTACH_SECONDS``, after
``LMS_TERMINAL_IDLE_MINUTES`` without a keystroke, or when the lab stops. The
process holding a terminal vouches for it in the database every
``HEARTBEAT_SECONDS``; when it died, the reaper (``services.end_abandoned_terminals``)
or the next attach applies the same rules from the database.

Messages: binary frames carry terminal bytes (keystrokes up, output down);
text frames carry JSON control messages:

- up: ``{"t": "resize", "cols": C, "rows": R}``, ``{"t": "ping"}``, ``{"t": "close"}``;
- down: ``{"t": "hello", "offset": N, "reattached": bool}`` (N: the output
  offset of the next binary frame), ``{"t": "pong"}``, ``{"t": "resize", ...}``
  (watchers), ``{"t": "exit", "reason": "...", "final": bool}``.

The terminals this process serves are in ``hub``; a process that stops lets
them go (``release_all``) and their shells keep running for the next one, so
any number of worker processes and hosts may serve terminals. Under gunicorn's gevent
workers the "threads" here are greenlets (the standard library is patched), so
a terminal costs no operating-system thread; the same code runs on real
threads under the development server and in tests.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from lms.labs.runtime.base import LabError, ShellChannel, ShellClosed
from lms.terminal.asciicast import AsciicastWriter
from lms.terminal.commands import Command, CommandExtractor

log = logging.getLogger(__name__)

RING_BYTES = 256 * 1024  # output kept for a browser that comes back
# An idle terminal wakes its two loops this often (housekeeping; noticing its end):
# rarely, so that hundreds of open terminals cost a process little.
READ_TIMEOUT = 2.0
RECEIVE_TIMEOUT = 5.0
LAB_CHECK_SECONDS = 30.0  # a fallback: a stopped lab usually ends its shells at once
WATCH_POLL_SECONDS = 0.1
MAX_COLS, MAX_ROWS = 500, 200
# The process holding a terminal writes its heartbeat (and last keystroke) this often;
# a terminal whose heartbeat is older than LMS_TERMINAL_REATTACH_SECONDS plus twice
# this is abandoned (its process died): the reaper or the next attach ends it.
HEARTBEAT_SECONDS = 30.0
# What the database says of a terminal this process serves (``vouch``).
MINE, TAKEN, ENDED = "mine", "taken", "ended"
OPENED_ELSEWHERE = "This terminal was opened elsewhere."


class Peer:
    """A WebSocket whose sends may come from several threads."""

    def __init__(self, ws):
        self.ws = ws
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return bool(getattr(self.ws, "connected", False))

    def send_bytes(self, data: bytes) -> None:
        with self._lock:
            self.ws.send(bytes(data))

    def send_json(self, message: dict) -> None:
        with self._lock:
            self.ws.send(json.dumps(message))

    def close(self, message: str = "") -> None:
        with self._lock, suppress(Exception):
            self.ws.close(reason=1000, message=message[:120])


class OutputLog:
    """The last ``RING_BYTES`` of output, addressed by absolute offsets."""

    def __init__(self, size: int = RING_BYTES, start: int = 0):
        self.size = size
        self.total = start  # a terminal taken over from another process goes on counting
        self._buffer = bytearray()

    def append(self, data: bytes) -> None:
        self._buffer += data
        self.total += len(data)
        if len(self._buffer) > self.size:
            del self._buffer[: len(self._buffer) - self.size]

    def since(self, offset: int) -> tuple[int, bytes]:
        """(start offset, bytes) of what followed ``offset`` and is still kept."""
        start = self.total - len(self._buffer)
        offset = min(max(offset, start), self.total)
        return offset, bytes(self._buffer[offset - start :])


@dataclass(frozen=True)
class TerminalKey:
    session_id: int
    user_id: int
    terminal: str  # the browser tab's id


@dataclass(frozen=True)
class TerminalLimits:
    idle_seconds: float
    reattach_seconds: float


class Terminal:
    """A shell in the lab, its recording, and (at most) one attached browser."""

    def __init__(
        self,
        key: TerminalKey,
        shell: ShellChannel,
        writer: AsciicastWriter,
        limits: TerminalLimits,
        lab_is_live: Callable[[], bool],
        on_end: Callable[[Terminal, str], None],
        *,
        vouch: Callable[[float | None], str] = lambda input_age: MINE,
        on_release: Callable[[Terminal], None] = lambda terminal: None,
        output_offset: int = 0,
        input_age: float = 0.0,
    ):
        """``vouch(seconds since the last keystroke, or None)`` writes this process's
        heartbeat for the terminal and says whether it is still this process's (MINE),
        another's (TAKEN) or ended (ENDED); ``on_release`` is called when the
        terminal lets its (held) shell go without ending it."""
        self.key = key
        self.shell = shell
        self.writer = writer
        self.limits = limits
        self.extractor = CommandExtractor()
        self.output = OutputLog(start=output_offset)
        self.closed = False
        self._closing = False
        self.end_reason: str | None = None
        self.recording_id: int | None = None
        self.slot: Slot | None = None  # this process's room for it, released at the end
        self._lab_is_live = lab_is_live
        self._on_end = on_end
        self._vouch = vouch
        self._on_release = on_release
        self._peer: Peer | None = None
        self._detached_at: float | None = time.monotonic()
        self._last_input = time.monotonic() - input_age
        self._typed_since_vouch = False
        self._last_lab_check = time.monotonic()
        self._last_vouch = time.monotonic()
        self._lock = threading.RLock()
        self._reader = threading.Thread(
            target=self._read_loop, daemon=True, name=f"terminal-{key.session_id}-{key.terminal}"
        )

    def start(self) -> None:
        self._reader.start()

    # -- browsers ---------------------------------------------------------------------

    def attach(self, peer: Peer, seen: int, reattached: bool) -> None:
        """Make ``peer`` the terminal's browser; send what it has not seen yet."""
        with self._lock:
            previous, self._peer = self._peer, peer
            self._detached_at = None
            start, missed = self.output.since(seen)
            try:
                peer.send_json(
                    {
                        "t": "hello",
                        "offset": start,
                        "reattached": reattached,
                        "terminal": self.key.terminal,
                    }
                )
                if missed:
                    peer.send_bytes(missed)
            except Exception:  # gone already: the terminal waits for the next one
                self._peer, self._detached_at = None, time.monotonic()
        if previous is not None and previous is not peer:
            with suppress(Exception):
                previous.send_json(
                    {"t": "exit", "reason": "This terminal was opened elsewhere.", "final": True}
                )
            previous.close("replaced")

    def detach(self, peer: Peer) -> None:
        with self._lock:
            if self._peer is peer:
                self._peer = None
                self._detached_at = time.monotonic()

    @property
    def attached(self) -> bool:
        return self._peer is not None

    # -- input from the browser ---------------------------------------------------------

    def send_input(self, data: bytes) -> tuple[list[Command], float]:
        """Pass keystrokes to the shell; return the commands they completed and when."""
        with self._lock:
            self._last_input = time.monotonic()
            self._typed_since_vouch = True
            self.writer.input(data)
            commands = self.extractor.feed_input(data)
            offset = self.writer.elapsed
        try:
            self.shell.send(data)
        except ShellClosed:
            self.close("The shell has exited.")
        return commands, offset

    def resize(self, cols: int, rows: int) -> None:
        cols, rows = max(2, min(int(cols), MAX_COLS)), max(2, min(int(rows), MAX_ROWS))
        with self._lock:
            self.writer.resize(cols, rows)
        self.shell.resize(cols, rows)

    # -- the end --------------------------------------------------------------------------

    def close(self, reason: str, verify: bool = False) -> None:
        """End the terminal: kill the shell's process group, finish the recording.

        ``verify``: first make sure the terminal is still this process's (a
        timeout this process saw alone): one another process took over is let go.
        """
        if verify and not self.closed and self._vouch(None) == TAKEN:
            self.release(OPENED_ELSEWHERE)
            return
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self.end_reason = reason
            peer = self._peer
        self._finish(peer, reason, self.shell.end, "closing", "ended")
        self._on_end(self, reason)

    def release(self, reason: str | None = None) -> None:
        """Let the shell go without ending it: another process took the terminal over
        (``reason`` tells the browser, for good), or this one stops (no reason: the
        browser reconnects, to whichever process). A plain shell cannot outlive its
        process: it is ended instead."""
        if not self.shell.held:
            self.close(reason or "The platform is restarting: open the terminal again.")
            return
        with self._lock:
            if self._closing:
                return
            self._closing = True
            peer = self._peer
        self._finish(peer, reason, self.shell.close, "detaching", "released")
        self._on_release(self)

    def _finish(
        self, peer, reason: str | None, let_go: Callable[[], None], doing: str, peer_reason: str
    ) -> None:
        """The common end of ``close`` and ``release``: tell the browser why (when there
        is a reason), then end or detach the shell (``let_go``) and close the recording."""
        # The browser hears why first: once ``closed`` is set, the request thread
        # returns and its socket is gone.
        if peer is not None and reason:
            with suppress(Exception):
                peer.send_json({"t": "exit", "reason": reason, "final": True})
        with self._lock:
            self.closed = True
            self._peer = None
        try:
            let_go()
        except LabError as exc:
            log.warning("%s a shell of lab session %s: %s", doing, self.key.session_id, exc)
        with self._lock:
            self.writer.close()
        if peer is not None:
            peer.close(peer_reason)

    # -- the reader thread --------------------------------------------------------------

    def _read_loop(self) -> None:
        try:
            while not self.closed:
                try:
                    data = self.shell.recv(timeout=READ_TIMEOUT)
                except ShellClosed:
                    if not self.closed:  # exited, or taken over by another process
                        self.close("The shell has exited.", verify=self.shell.held)
                    return
                if data:
                    self._deliver(data)
                self._housekeeping()
        except Exception:  # a bug must not leave a shell running
            log.exception("terminal %s failed", self.key)
            self.close("The terminal failed; open a new one.")

    def _deliver(self, data: bytes) -> None:
        with self._lock:
            self.output.append(data)
            self.writer.output(data)
            self.extractor.feed_output(data)
            peer = self._peer
        if peer is None:
            return
        try:
            peer.send_bytes(data)
        except Exception:  # the browser went away: wait for it to come back
            self.detach(peer)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_input > self.limits.idle_seconds:
            self.close(
                f"Closed after {_duration(self.limits.idle_seconds)} without a keystroke.",
                verify=True,
            )
        elif (
            self._detached_at is not None and now - self._detached_at > self.limits.reattach_seconds
        ):
            self.close("The browser did not come back.", verify=True)
        elif now - self._last_vouch > HEARTBEAT_SECONDS:
            self._last_vouch = now
            typed, self._typed_since_vouch = self._typed_since_vouch, False
            status = self._vouch(now - self._last_input if typed else None)
            if status == TAKEN:
                self.release(OPENED_ELSEWHERE)
            elif status == ENDED:
                self.close("The terminal was ended.")
        elif now - self._last_lab_check > LAB_CHECK_SECONDS:
            self._last_lab_check = now
            if not self._lab_is_live():
                self.close("The lab has stopped.")


class Slot:
    """Room for one terminal or live watch in this process, held until released."""

    def __init__(self, hub: TerminalHub):
        self._hub = hub
        self._held = True

    def release(self) -> None:
        """Give the room back (idempotent)."""
        with self._hub._lock:
            if self._held:
                self._held = False
                self._hub._slots_taken -= 1


class TerminalHub:
    """The terminals of this process, by (lab session, user, browser tab).

    It also counts the process's capacity: every shell and every live watch
    holds a ``Slot`` (``LMS_MAX_TERMINALS_PER_PROCESS``), taken before the
    WebSocket is accepted so that a full process refuses with a plain HTTP
    answer and never holds more than it can serve.
    """

    def __init__(self):
        self._terminals: dict[TerminalKey, Terminal] = {}
        self._lock = threading.Lock()
        self._slots_taken = 0

    def take_slot(self, capacity: int) -> Slot | None:
        """A slot for a new terminal or watch, or None when the process is full."""
        with self._lock:
            if self._slots_taken >= capacity:
                return None
            self._slots_taken += 1
        return Slot(self)

    def has_room(self, capacity: int) -> bool:
        with self._lock:
            return self._slots_taken < capacity

    @property
    def slots_taken(self) -> int:
        """Shells (attached or waiting for their browser) and watches held now."""
        with self._lock:
            return self._slots_taken

    def get(self, key: TerminalKey) -> Terminal | None:
        with self._lock:
            terminal = self._terminals.get(key)
        return None if terminal is None or terminal.closed else terminal

    def add(self, terminal: Terminal) -> None:
        with self._lock:
            self._terminals[terminal.key] = terminal

    def forget(self, terminal: Terminal) -> None:
        with self._lock:
            if self._terminals.get(terminal.key) is terminal:
                del self._terminals[terminal.key]
        if terminal.slot is not None:
            terminal.slot.release()

    def terminals(self, session_id: int | None = None) -> list[Terminal]:
        with self._lock:
            return [
                t
                for k, t in self._terminals.items()
                if session_id is None or k.session_id == session_id
            ]

    def close_session(self, session_id: int, reason: str = "The lab has stopped.") -> int:
        """End every terminal of a lab session (call it when the lab stops)."""
        found = self.terminals(session_id)
        for terminal in found:
            terminal.close(reason)
        return len(found)

    def close_all(self, reason: str = "The platform is restarting.") -> None:
        """End every terminal of this process, held shells included."""
        for terminal in self.terminals():
            with suppress(Exception):
                terminal.close(reason)

    def release_all(self) -> None:
        """This process stops: let every terminal go. Held shells keep running and
        their browsers reconnect to another (or the restarted) process; plain ones end."""
        for terminal in self.terminals():
            with suppress(Exception):
                terminal.release()


hub = TerminalHub()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{round(seconds)} seconds"
    return f"{round(seconds / 60)} minutes"
