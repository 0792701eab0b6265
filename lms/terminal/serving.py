"""A terminal's WebSocket request: the browser's messages to the shell (serve_interactive)
and a recording's tail then its live output to a watcher (serve_watch)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import suppress

from lms.terminal.asciicast import AsciicastTail
from lms.terminal.bridge import RECEIVE_TIMEOUT, WATCH_POLL_SECONDS, Peer, Terminal
from lms.terminal.commands import Command


def serve_interactive(
    peer: Peer, terminal: Terminal, save_commands: Callable[[list[Command], float], None]
) -> None:
    """The request thread's side: browser messages to the shell until either ends."""
    while not terminal.closed:
        try:
            message = peer.ws.receive(timeout=RECEIVE_TIMEOUT)
        except Exception:  # ConnectionClosed or a broken socket
            break
        if message is None:
            if not peer.connected:
                break
            continue
        if isinstance(message, bytes | bytearray):
            commands, offset = terminal.send_input(bytes(message))
            if commands:
                save_commands(commands, offset)
            continue
        control = _control(message)
        kind = control.get("t")
        if kind == "resize":
            with suppress(TypeError, ValueError):
                terminal.resize(control["cols"], control["rows"])
        elif kind == "ping":
            with suppress(Exception):
                peer.send_json({"t": "pong"})
        elif kind == "close":
            terminal.close("Closed by the trainee.")
            break
    terminal.detach(peer)


def serve_watch(
    peer: Peer, tail: AsciicastTail, is_live: Callable[[], bool], check_every: float = 2.0
) -> None:
    """Stream a recording being written to a read-only watcher, until it ends."""
    last_check = time.monotonic()
    try:
        while peer.connected:
            events = tail.poll()
            _send_events(peer, events)
            while peer.ws.receive(timeout=0) is not None:
                pass  # a watcher's keystrokes go nowhere
            if events:
                continue
            now = time.monotonic()
            if now - last_check > check_every:
                last_check = now
                if not is_live():
                    _send_events(peer, tail.poll())
                    peer.send_json(
                        {"t": "exit", "reason": "The trainee's terminal has ended.", "final": True}
                    )
                    return
            time.sleep(WATCH_POLL_SECONDS)
    except Exception:  # the watcher left
        return
    finally:
        tail.close()


def _send_events(peer: Peer, events: list[list]) -> None:
    """Recorded events to a watcher: output joined into few frames, resizes as messages."""
    output: list[str] = []
    for _, code, data in events:
        if code == "o":
            output.append(data)
        elif code == "r":
            if output:
                peer.send_bytes("".join(output).encode("utf-8"))
                output = []
            cols, _, rows = str(data).partition("x")
            with suppress(ValueError):
                peer.send_json({"t": "resize", "cols": int(cols), "rows": int(rows)})
    if output:
        peer.send_bytes("".join(output).encode("utf-8"))


def _control(message: str) -> dict:
    try:
        value = json.loads(message)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
