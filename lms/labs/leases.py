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
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import String, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from lms.auth.models import utcnow
from lms.extensions import db

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


# -- named leases: one holder at a time across processes and hosts --------------------------


class LabLease(db.Model):
    """A named lease (``reaper``: one sweep at a time). A holder takes it while it is free,
    lapsed, or held by a process of this machine that no longer runs."""

    __tablename__ = "lab_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    until: Mapped[datetime | None]
    taken_at: Mapped[datetime | None]
    taken_count: Mapped[int] = mapped_column(default=0)  # how many times it was taken


def acquire(name: str, ttl: timedelta, holder: str | None = None) -> bool:
    """Take the lease ``name`` for ``ttl``; False when another live holder has it."""
    holder = holder or process_identity()
    now = utcnow()
    row = db.session.get(LabLease, name)
    if row is None:
        db.session.add(
            LabLease(name=name, holder=holder, until=now + ttl, taken_at=now, taken_count=1)
        )
        try:
            db.session.commit()
            return True
        except IntegrityError:  # another process inserted it first
            db.session.rollback()
            row = db.session.get(LabLease, name)
            if row is None:
                return False
    previous, until, count = row.holder, row.until, row.taken_count
    db.session.commit()  # end the read: the conditional UPDATE below decides
    free = (
        previous == holder
        or previous is None
        or until is None
        or until < now
        or holder_is_gone(previous)
    )
    if not free:
        return False
    # Of several processes taking it at once, exactly one still sees the count it read.
    taken = db.session.execute(
        update(LabLease)
        .where(LabLease.name == name, LabLease.taken_count == count)
        .values(holder=holder, until=now + ttl, taken_at=now, taken_count=LabLease.taken_count + 1)
    ).rowcount
    db.session.commit()
    return bool(taken)


def release(name: str, holder: str | None = None) -> None:
    db.session.execute(
        update(LabLease)
        .where(LabLease.name == name, LabLease.holder == (holder or process_identity()))
        .values(holder=None, until=None)
    )
    db.session.commit()
