"""Who holds a start: the identity of a serving process, and whether it is gone.

A start's row carries a lease (``LabSession.lease_until``) that its process
renews, and that process's identity (``lease_owner``). When the holder ran on
this machine and no longer runs (a server killed mid-start, then restarted),
the start is abandoned at once, without waiting for the lease to lapse. A
holder on another machine is trusted until its lease lapses.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

_identity: tuple[int, str] | None = None  # (pid, identity): recomputed after a fork


def _machine() -> str:
    """This host, boot and process namespace: pids are comparable only within them (two
    containers on one host, with the host's network, share its name but not their pids)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{socket.gethostname()}/{boot}/{namespace}"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # fields after "pid (comm)" start at 3


def process_identity() -> str:
    """``machine|pid|start time`` of this process: a reused pid is told apart."""
    global _identity
    pid = os.getpid()
    if _identity is None or _identity[0] != pid:
        _identity = (pid, f"{_machine()}|{pid}|{_start_time(pid) or ''}")
    return _identity[1]


def holder_is_gone(identity: str | None) -> bool:
    """True when ``identity`` names a process of this machine (and boot) that no longer
    runs. False when it runs, or when it is another machine's: only its lease tells."""
    if not identity:
        return False
    parts = identity.split("|")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    machine, pid, started = parts
    if not machine or machine != _machine():
        return False
    return _start_time(int(pid)) != started
