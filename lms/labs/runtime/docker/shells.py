"""Interactive shells in a lab's containers (the browser terminal's other end).

A terminal's shell is *held*: it runs under a session holder inside the lab
container (Debian's dtach, built static by scripts/build-session-holder.sh and
copied into the container the first time a terminal opens there), so it
outlives the ``docker exec`` that shows it, the WebSocket, and the web
process. Each opening is one ``docker exec`` of a small ``sh`` script that
attaches to the holder by name, or creates it; a later opening, from any
process, attaches again and takes the shell over from the previous one.

The holder's socket lives in ``/tmp/.lms-terminals-<uid>`` (mode 0700, owned
by the lab's user, checked before use; dtach makes the socket 0600): other
users of the container cannot reach it, and other labs are other containers.
When no holder can be used (no binary built, a container without ``id``,
a folder another user owns), the shell is a plain one that dies with its exec,
as before, and the reason is logged.
"""

from __future__ import annotations

import io
import logging
import re
import select
import socket
import tarfile
import threading
import time
from contextlib import suppress
from pathlib import Path

import docker.errors

from lms.labs.runtime.base import (
    LabError,
    LabNotFound,
    ShellClosed,
    ShellGone,
)
from lms.labs.runtime.docker.common import (
    SESSION_KILL,
    engine_errors,
)

log = logging.getLogger(__name__)

# Built by scripts/build-session-holder.sh (make install); copied into labs on first use.
HOLDER_BINARY = Path(__file__).parent / "session-holder" / "dtach"
HOLDER_IN_CONTAINER = "/usr/local/lib/lms/dtach"
SHELL_NAME = re.compile(r"^[a-z0-9-]{1,40}$")

# The shell itself: its pid and its holder's, then a login shell (bash when there is one).
# Inside a holder, it also keeps both pids next to the socket for the next attach.
_LOGIN = "if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l"
_INNER = (
    f'printf "%s %s\\n" "$$" "$PPID" > "$0.pid"; printf "LMSPID:%s:%s\\n" "$$" "$PPID"; {_LOGIN}'
)
_PLAIN = 'printf "LMSPID:%s:\\n" "$$"; ' + _LOGIN

# Run with: $1 the holder's path ("" for a plain shell), $2 the shell's name, $3 the pid
# of the held shell to attach to ("" to create it). Marks before any shell output:
# LMSCLIENT:<this exec's pid>:<new|attach|plain>:<why plain>, then LMSPID:<pid>:<holder pid>;
# or LMSHOLD:<missing|gone> when nothing was started. The first line read releases it
# (so that no output is written before the platform reads).
OPEN_SCRIPT = f"""read -r _
plain() {{ printf "LMSCLIENT:%s:plain:%s\\n" "$$" "$1"; {_PLAIN}; }}
[ -n "$1" ] || plain ""
[ -x "$1" ] || {{ printf "LMSHOLD:missing\\n"; exit 3; }}
U=$(id -u 2>/dev/null) || plain "no id command"
D=/tmp/.lms-terminals-$U
(umask 077; mkdir -p "$D") 2>/dev/null
{{ [ -d "$D" ] && [ ! -L "$D" ] && [ -O "$D" ] && chmod 700 "$D"; }} || plain "$D is not the user's own"
S=$D/$2
if [ -n "$3" ]; then
  {{ [ -S "$S" ] && read -r P M < "$S.pid" && [ "$P" = "$3" ] && kill -0 "$P"; }} 2>/dev/null \\
    || {{ printf "LMSHOLD:gone\\n"; exit 3; }}
  read -r O < "$S.client" 2>/dev/null && [ "$O" != "$$" ] \\
    && read -r L < "/proc/$O/stat" 2>/dev/null && case "$L" in *"(dtach)"*) kill -9 "$O";; esac
  echo "$$" > "$S.client"
  printf "LMSCLIENT:%s:attach:\\nLMSPID:%s:%s\\n" "$$" "$P" "$M"
  exec "$1" -a "$S" -E -z -r winch
fi
rm -f "$S" "$S.pid"
echo "$$" > "$S.client"
printf "LMSCLIENT:%s:new:\\n" "$$"
exec "$1" -c "$S" -E -z -r winch sh -c '{_INNER}' "$S"
"""

# Run as the lab's user with $1 the name, $2 the pid: stop the holder (it removes its
# socket) after the shell's session had its hang-up.
END_SCRIPT = (
    "S=/tmp/.lms-terminals-$(id -u)/$1; {hup}; "
    'read -r P M < "$S.pid" 2>/dev/null && [ "$P" = "$2" ] && kill "$M" 2>/dev/null; '
    'sleep 0.3; {kill}; rm -f "$S" "$S.pid" "$S.client"; true'
)

CLIENT_MARK = re.compile(rb"LMSCLIENT:(\d+):(\w+):([^\r\n]*)\r?\n")
PID_MARK = re.compile(rb"LMSPID:(\d+):(\d*)\r?\n")
HOLD_MARK = re.compile(rb"LMSHOLD:(\w+)\r?\n")
# What the dtach client writes of its own: a clear screen when it attaches, a
# farewell when the shell has exited. Neither belongs to the trainee's screen.
CLEAR_ON_ATTACH = b"\x1b[H\x1b[J"
FAREWELL = b"\x1b[999H\r\n[EOF - dtach terminating]\r\n"


class HolderMissing(Exception):
    """The container has no session holder yet (internal)."""


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
        *,
        name: str | None = None,
        pid: int | None = None,
    ) -> DockerShell:
        if name is not None and not SHELL_NAME.match(name):
            raise LabError(f"invalid shell name {name!r}")
        container_id = self._container_id(session_key, container)
        # Attaching needs no copy here: a held shell has its holder next to it.
        holder = HOLDER_IN_CONTAINER if name and (pid or self._holder_available()) else ""
        try:
            return self._start_shell(container_id, user, workdir, name, pid, holder, cols, rows)
        except HolderMissing:
            pass
        if pid is not None:  # a held shell would have its holder next to it
            raise ShellGone(f"no held shell {name} in {container}")
        holder = HOLDER_IN_CONTAINER if self._place_holder(container_id, container) else ""
        try:
            return self._start_shell(container_id, user, workdir, name, None, holder, cols, rows)
        except (LabNotFound, HolderMissing):
            raise
        except LabError as exc:
            if not holder:
                raise
            # The holder does not run here (a foreign image, a seccomp profile...).
            log.warning("terminal in %s will be a plain shell: %s", container, exc)
        return self._start_shell(container_id, user, workdir, name, None, "", cols, rows)

    def end_shell(
        self, session_key: str, container: str, user: str | None, name: str, pid: int
    ) -> None:
        if not SHELL_NAME.match(name):
            raise LabError(f"invalid shell name {name!r}")
        try:
            container_id = self._container_id(session_key, container)
        except LabNotFound:
            return  # the lab is gone, and its shells with it
        self._end_held(container_id, user or "", name, int(pid))

    # -- internals ---------------------------------------------------------------------------

    def _start_shell(self, container_id, user, workdir, name, pid, holder, cols, rows):
        with engine_errors(LabNotFound, "opening a shell"):
            exec_id = self.quick.exec_create(
                container_id,
                ["sh", "-c", OPEN_SCRIPT, "lms-shell", holder, name or "", str(pid or "")],
                stdin=True,
                tty=True,
                user=user or "",
                workdir=workdir,
                environment=["TERM=xterm-256color"],
            )["Id"]
            sock = self.api.exec_start(exec_id, tty=True, socket=True)
        shell = DockerShell(self, container_id, exec_id, sock, user, name)
        shell.handshake(cols, rows)
        if holder and not shell.held:
            log.warning("terminal in %s is a plain shell: %s", container_id[:12], shell.plain_why)
        return shell

    def _holder_available(self) -> bool:
        if HOLDER_BINARY.is_file():
            return True
        if not getattr(self, "_holder_warned", False):
            self._holder_warned = True
            log.warning(
                "no session holder at %s (make session-holder): terminals are plain shells "
                "that end with their web process",
                HOLDER_BINARY,
            )
        return False

    def _place_holder(self, container_id: str, container: str) -> bool:
        """Copy the holder into the container (root's, mode 0755); False when it fails."""
        target = Path(HOLDER_IN_CONTAINER)
        data = HOLDER_BINARY.read_bytes()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            parts = target.parent.parts[1:]
            for depth in range(1, len(parts) + 1):
                folder = tarfile.TarInfo("/".join(parts[:depth]))
                folder.type, folder.mode, folder.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
                tar.addfile(folder)
            info = tarfile.TarInfo(str(target)[1:])
            info.size, info.mode, info.mtime = len(data), 0o755, int(time.time())
            tar.addfile(info, io.BytesIO(data))
        try:
            with engine_errors(LabError, f"copying the session holder into {container}"):
                self.api.put_archive(container_id, "/", buffer.getvalue())
        except LabError as exc:
            if isinstance(exc.__cause__, docker.errors.NotFound):
                raise LabNotFound(str(exc)) from exc
            log.warning("terminal in %s will be a plain shell: %s", container, exc)
            return False
        return True

    def _end_held(self, container_id: str, user: str, name: str, pid: int) -> None:
        hup, kill = (SESSION_KILL.format(sig=sig, sid=pid) for sig in ("HUP", "KILL"))
        script = END_SCRIPT.format(hup=hup, kill=kill)
        self._exec_quietly(container_id, ["sh", "-c", script, "lms-end", name, str(pid)], user)
        if user not in ("", "0", "root"):
            # Without CAP_KILL, root cannot signal the trainee's processes and the
            # trainee cannot signal root's (a setuid escalation): signal as both.
            self._exec_quietly(container_id, ["sh", "-c", kill], "0")

    def _exec_quietly(self, container_id: str, command: str | list[str], user: str) -> None:
        if isinstance(command, str):
            command = ["sh", "-c", command]
        with suppress(LabError), engine_errors():
            exec_id = self.api.exec_create(container_id, command, user=user)["Id"]
            self.api.exec_start(exec_id)


class DockerShell:
    """A TTY shell exec'd in a container, held or plain; see ``base.ShellChannel``.

    A plain shell is the session leader of the exec's TTY (Docker starts a TTY
    exec in a new session); a held one of its holder's. Either way the shell's
    pid is its session id, so ending it signals the whole session from a second
    exec: job-control process groups and background jobs included.
    """

    def __init__(self, runtime: ShellMethods, container_id, exec_id, sock, user, name):
        self._runtime = runtime
        self._container_id = container_id
        self._exec_id = exec_id
        self._response_sock = sock
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._user = user or ""
        self.name = name
        self._pending = b""
        self.pid: int | None = None
        self.holder_pid: int | None = None
        self.client_pid: int | None = None  # this exec's process (the holder's client)
        self.held = False
        self.reattached = False
        self.plain_why = ""
        self._closed = False
        self._lock = threading.Lock()

    def handshake(self, cols: int, rows: int, timeout: float = 10.0) -> None:
        """Release the script; read its marks (pids, held or not) before any user output."""
        deadline = time.monotonic() + timeout
        buffer = b""
        try:
            self.send(b"\n")
            while time.monotonic() < deadline:
                if PID_MARK.search(buffer) or HOLD_MARK.search(buffer):
                    break
                buffer += self._read(max(0.0, deadline - time.monotonic()))
        except ShellClosed:
            pass
        if hold := HOLD_MARK.search(buffer):
            self._drop()
            if hold.group(1) == b"missing":
                raise HolderMissing()
            raise ShellGone(f"the held shell {self.name} is not running")
        match, client = PID_MARK.search(buffer), CLIENT_MARK.search(buffer)
        if match is None or client is None:
            self._drop()
            raise LabError(
                f"the shell did not start (user {self._user or 'default'}): "
                f"{buffer[-200:].decode('utf-8', 'replace').strip()}"
            )
        self.pid = int(match.group(1))
        self.holder_pid = int(match.group(2)) if match.group(2) else None
        self.client_pid = int(client.group(1))
        mode = client.group(2).decode()
        self.held, self.reattached = mode in ("new", "attach"), mode == "attach"
        self.plain_why = client.group(3).decode("utf-8", "replace")
        self._pending = buffer[match.end() :]
        if self.held and CLEAR_ON_ATTACH not in buffer[: match.start()]:
            self._skip_clear(deadline)
        self.resize(cols, rows)

    def _skip_clear(self, deadline: float) -> None:
        """Drop the holder client's clear-screen that follows the marks of an attach."""
        with suppress(ShellClosed):
            while len(self._pending) < len(CLEAR_ON_ATTACH) and time.monotonic() < deadline:
                self._pending += self._read(min(1.0, max(0.0, deadline - time.monotonic())))
        if self._pending.startswith(CLEAR_ON_ATTACH):
            self._pending = self._pending[len(CLEAR_ON_ATTACH) :]

    def recv(self, timeout: float | None = None) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        data = self._read(timeout)
        if self.held and FAREWELL in data:
            data = data.replace(FAREWELL, b"")
        return data

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
        """Detach from a held shell (it keeps running); end a plain one."""
        if not self.held:
            self.end()
            return
        if self._drop() and self.client_pid is not None:
            # Docker leaves an exec running when its stream closes: stop the client.
            self._runtime._exec_quietly(
                self._container_id, f"kill -9 {self.client_pid} 2>/dev/null; true", self._user
            )

    def end(self) -> None:
        first = self._drop()
        if not first or self.pid is None:
            return
        if self.held and self.name:
            self._runtime._end_held(self._container_id, self._user, self.name, self.pid)
        else:
            self._runtime._end_held(self._container_id, self._user, "-", self.pid)

    def _drop(self) -> bool:
        """Close the exec's stream; True the first time."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
        for closable in (self._sock, self._response_sock):
            with suppress(Exception):
                closable.close()
        return True
