"""Interactive shells in a lab's containers (the browser terminal's other end)."""

from __future__ import annotations

import select
import socket
import threading
import time
from contextlib import suppress

from lms.labs.runtime.base import (
    LabError,
    LabNotFound,
    ShellClosed,
)
from lms.labs.runtime.docker.common import (
    PID_MARK,
    SESSION_KILL,
    SHELL_SCRIPT,
    engine_errors,
)


class ShellMethods:
    """The DockerRuntime's shells methods (mixed into it)."""

    def open_shell(
        self,
        session_key: str,
        container: str,
        user: str | None,
        workdir: str | None,
        cols: int,
        rows: int,
    ) -> DockerShell:
        container_id = self._container_id(session_key, container)
        with engine_errors(LabNotFound, f"opening a shell in {container}"):
            exec_id = self.quick.exec_create(
                container_id,
                ["sh", "-c", SHELL_SCRIPT],
                stdin=True,
                tty=True,
                user=user or "",
                workdir=workdir,
                environment=["TERM=xterm-256color"],
            )["Id"]
            sock = self.api.exec_start(exec_id, tty=True, socket=True)
        shell = DockerShell(self, container_id, exec_id, sock, user)
        shell.handshake(cols, rows)
        return shell

    def _exec_quietly(self, container_id: str, script: str, user: str) -> None:
        with suppress(LabError), engine_errors():
            exec_id = self.api.exec_create(container_id, ["sh", "-c", script], user=user)["Id"]
            self.api.exec_start(exec_id)


class DockerShell:
    """A TTY shell exec'd in a container; see ``base.ShellChannel``.

    The shell is the session leader of its TTY (Docker starts a TTY exec in
    a new session), so ``close`` signals the whole session from a second exec:
    job-control process groups and background jobs included.
    """

    def __init__(self, runtime: ShellMethods, container_id: str, exec_id: str, sock, user):
        self._runtime = runtime
        self._container_id = container_id
        self._exec_id = exec_id
        self._response_sock = sock
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._user = user or ""
        self._pending = b""
        self._pid: int | None = None
        self._closed = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The shell's process id inside the container (its session id)."""
        return self._pid

    def handshake(self, cols: int, rows: int, timeout: float = 10.0) -> None:
        """Release the wrapper script and read the shell's pid before any user output."""
        deadline = time.monotonic() + timeout
        buffer = b""
        try:
            self.send(b"\n")
            while (match := PID_MARK.search(buffer)) is None and time.monotonic() < deadline:
                buffer += self._read(max(0.0, deadline - time.monotonic()))
        except ShellClosed:
            match = None
        if match is None:
            self.close()
            raise LabError(
                f"the shell did not start (user {self._user or 'default'}): "
                f"{buffer[-200:].decode('utf-8', 'replace').strip()}"
            )
        self._pid = int(match.group(1))
        self._pending = buffer[match.end() :]
        self.resize(cols, rows)

    def recv(self, timeout: float | None = None) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        return self._read(timeout)

    def _read(self, timeout: float | None) -> bytes:
        if self._closed:
            raise ShellClosed("the shell is closed")
        try:
            ready, _, _ = select.select([self._sock], [], [], timeout)
            if not ready:
                return b""
            data = self._sock.recv(65536)
        except (OSError, ValueError) as exc:
            raise ShellClosed("the shell connection broke") from exc
        if not data:
            raise ShellClosed("the shell has exited")
        return data

    def send(self, data: bytes) -> None:
        if self._closed:
            raise ShellClosed("the shell is closed")
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise ShellClosed("the shell connection broke") from exc

    def resize(self, cols: int, rows: int) -> None:
        with suppress(LabError), engine_errors():
            self._runtime.quick.exec_resize(self._exec_id, height=int(rows), width=int(cols))

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._pid is not None:
            self._kill_session(self._pid)
        for closable in (self._sock, self._response_sock):
            with suppress(Exception):
                closable.close()

    def _kill_session(self, pid: int) -> None:
        # Without CAP_KILL, root cannot signal the trainee's processes and the
        # trainee cannot signal root's (a setuid escalation): signal as both.
        hup, kill = (
            SESSION_KILL.format(sig="HUP", sid=pid),
            SESSION_KILL.format(sig="KILL", sid=pid),
        )
        self._runtime._exec_quietly(self._container_id, f"{hup}; sleep 0.3; {kill}", self._user)
        if self._user not in ("", "0", "root"):
            self._runtime._exec_quietly(self._container_id, kill, "0")
