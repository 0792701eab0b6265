"""Write the evidence of the logs-and-auditing lab, for host db01.

Deterministic (fixed seed). Two outputs:
- the systemd journal of three boots, in journal export format, which the
  Dockerfile turns into a real journal file with systemd-journal-remote: one
  service fails in the night of the last boot, others only warn;
- an audit log (auditd's raw format) where carol, logged in as herself, uses
  sudo to write a file into /etc/sudoers.d: the records say uid=root but
  auid=carol.
Usage: make_logs.py MACHINE_ID JOURNAL_EXPORT AUDIT_LOG
"""

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

HOST = "db01"
BOOTS = [  # boot id, boot time (UTC)
    ("0d6c7f9a1b2e4c3d8e9f0a1b2c3d4e5f", datetime(2024, 5, 10, 6, 2, 11, tzinfo=UTC)),
    ("7a3e5c1d9b8f4a2e6c0d1f3b5a7e9c2d", datetime(2024, 5, 12, 22, 47, 3, tzinfo=UTC)),
    ("c4b2a9e8f7d64c3b2a1e0f9d8c7b6a5e", datetime(2024, 5, 13, 18, 15, 40, tzinfo=UTC)),
]
USERS = {"root": 0, "alice": 1002, "carol": 1003, "postgres": 105}


class Journal:
    def __init__(self, machine_id: str):
        self.machine_id = machine_id
        self.entries: list[tuple[datetime, str, datetime, dict]] = []

    def add(self, boot: tuple[str, datetime], moment: datetime, **fields: str) -> None:
        self.entries.append((moment, boot[0], boot[1], fields))

    def export(self) -> str:
        out = []
        for moment, boot_id, booted, fields in sorted(self.entries, key=lambda e: e[0]):
            realtime = int(moment.timestamp() * 1_000_000)
            monotonic = int((moment - booted).total_seconds() * 1_000_000) + 1
            lines = [
                f"__REALTIME_TIMESTAMP={realtime}",
                f"__MONOTONIC_TIMESTAMP={monotonic}",
                f"_BOOT_ID={boot_id}",
                f"_MACHINE_ID={self.machine_id}",
                f"_HOSTNAME={HOST}",
            ]
            lines += [f"{key}={value}" for key, value in fields.items()]
            out.append("\n".join(lines) + "\n\n")
        return "".join(out)


def systemd(journal, boot, moment, message, priority="6", unit=None):
    fields = {"PRIORITY": priority, "SYSLOG_IDENTIFIER": "systemd", "_PID": "1"}
    if unit:
        fields["UNIT"] = unit
    journal.add(boot, moment, **fields, _SYSTEMD_UNIT="init.scope", MESSAGE=message)


def service(journal, boot, moment, unit, ident, pid, message, priority="6"):
    journal.add(
        boot,
        moment,
        PRIORITY=priority,
        SYSLOG_IDENTIFIER=ident,
        _PID=str(pid),
        _SYSTEMD_UNIT=unit,
        MESSAGE=message,
    )


def write_journal(rng: random.Random, machine_id: str) -> str:
    journal = Journal(machine_id)
    for index, boot in enumerate(BOOTS):
        start = boot[1]
        journal.add(
            boot,
            start,
            PRIORITY="5",
            SYSLOG_IDENTIFIER="kernel",
            _TRANSPORT="kernel",
            MESSAGE="Linux version 6.1.0-21-amd64 (debian-kernel@lists.debian.org)",
        )
        for offset, unit in enumerate(
            ("ssh.service", "postgresql@15-main.service", "cron.service")
        ):
            systemd(
                journal, boot, start + timedelta(seconds=4 + offset), f"Started {unit}.", unit=unit
            )
        end = (
            BOOTS[index + 1][1] - timedelta(minutes=1)
            if index + 1 < len(BOOTS)
            else start + timedelta(hours=20)
        )
        moment = start + timedelta(minutes=5)
        pid = 600
        while moment < end:
            pid += rng.randint(3, 30)
            service(
                journal,
                boot,
                moment,
                "cron.service",
                "CRON",
                pid,
                "pam_unix(cron:session): session opened for user postgres(uid=105) by (uid=0)",
            )
            if rng.random() < 0.15:
                service(
                    journal,
                    boot,
                    moment + timedelta(seconds=2),
                    "postgresql@15-main.service",
                    "postgres",
                    900 + pid % 97,
                    "LOG:  checkpoint starting: time",
                )
            if rng.random() < 0.05:
                service(
                    journal,
                    boot,
                    moment + timedelta(seconds=9),
                    "nginx.service",
                    "nginx",
                    812,
                    "an upstream response is buffered to a temporary file",
                    priority="4",
                )
            moment += timedelta(minutes=rng.randint(20, 40))
        if index + 1 < len(BOOTS):
            systemd(journal, boot, end, "Stopping session-3.scope - Session 3 of User alice...")
            systemd(
                journal,
                boot,
                end + timedelta(seconds=20),
                "Reached target shutdown.target - System Shutdown.",
            )
    last = BOOTS[-1]
    night = datetime(2024, 5, 14, 2, 0, 3, tzinfo=UTC)
    systemd(
        journal,
        last,
        night,
        "Starting pg-backup.service - Nightly PostgreSQL dump...",
        unit="pg-backup.service",
    )
    service(
        journal,
        last,
        night + timedelta(seconds=1),
        "pg-backup.service",
        "pg-backup",
        31877,
        'pg_dump: error: connection to server on socket "/run/postgresql/.s.PGSQL.5432" failed: '
        'FATAL:  role "backup" does not exist',
        priority="3",
    )
    systemd(
        journal,
        last,
        night + timedelta(seconds=1),
        "pg-backup.service: Main process exited, code=exited, status=1/FAILURE",
        priority="4",
        unit="pg-backup.service",
    )
    systemd(
        journal,
        last,
        night + timedelta(seconds=1),
        "pg-backup.service: Failed with result 'exit-code'.",
        priority="3",
        unit="pg-backup.service",
    )
    systemd(
        journal,
        last,
        night + timedelta(seconds=1),
        "Failed to start pg-backup.service - Nightly PostgreSQL dump.",
        priority="3",
        unit="pg-backup.service",
    )
    return journal.export()


def audit_event(serial: int, moment: datetime, records: list[str]) -> str:
    stamp = f"audit({moment.timestamp():.3f}:{serial})"
    return "".join(f"type={kind} msg={stamp}: {body}\n" for kind, body in records)


def proctitle(argv: list[str]) -> str:
    return "\0".join(argv).encode().hex().upper()


def write_audit(rng: random.Random) -> str:
    out, serial = [], 2210
    day = datetime(2024, 5, 14, 6, 0, tzinfo=UTC)
    common = (
        "a3=0 items=2 ppid={ppid} pid={pid} auid={auid} uid={uid} gid={uid} euid={uid} "
        "suid={uid} fsuid={uid} egid={uid} sgid={uid} fsgid={uid} tty=pts0 ses={ses} "
        'comm="{comm}" exe="{exe}" subj=unconfined key="{key}"'
    )

    def execve(moment, user, auid, argv, ses, key="exec"):
        nonlocal serial
        serial += rng.randint(1, 7)
        pid = rng.randint(3000, 9000)
        ids = dict(
            ppid=pid - 3,
            pid=pid,
            auid=auid,
            uid=USERS[user],
            ses=ses,
            comm=Path(argv[0]).name[:15],
            exe=argv[0],
            key=key,
        )
        args = " ".join(f'a{i}="{a}"' for i, a in enumerate(argv))
        out.append(
            audit_event(
                serial,
                moment,
                [
                    (
                        "SYSCALL",
                        "arch=c000003e syscall=59 success=yes exit=0 a0=55d0c4a3b2c0 a1=55d0c4a3b300 a2=55d0c4a3b340 "
                        + common.format(**ids),
                    ),
                    ("EXECVE", f"argc={len(argv)} {args}"),
                    ("CWD", f'cwd="/home/{"carol" if auid == 1003 else "alice"}"'),
                    (
                        "PATH",
                        f'item=0 name="{argv[0]}" inode={rng.randint(100000, 999999)} dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
                    ),
                    (
                        "PATH",
                        'item=1 name="/lib64/ld-linux-x86-64.so.2" inode=1311 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
                    ),
                    ("PROCTITLE", f"proctitle={proctitle(argv)}"),
                ],
            )
        )

    def write(moment, user, auid, argv, target, ses, key):
        nonlocal serial
        serial += rng.randint(1, 7)
        pid = rng.randint(3000, 9000)
        ids = dict(
            ppid=pid - 3,
            pid=pid,
            auid=auid,
            uid=USERS[user],
            ses=ses,
            comm=Path(argv[0]).name[:15],
            exe=argv[0],
            key=key,
        )
        folder = str(Path(target).parent) + "/"
        out.append(
            audit_event(
                serial,
                moment,
                [
                    (
                        "SYSCALL",
                        "arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=55d0c4a3b2c0 a2=241 "
                        + common.format(**ids).replace("a3=0", "a3=1b6"),
                    ),
                    ("CWD", f'cwd="/home/{"carol" if auid == 1003 else "alice"}"'),
                    (
                        "PATH",
                        f'item=0 name="{folder}" inode=131090 dev=08:01 mode=040750 ouid=0 ogid=0 rdev=00:00 nametype=PARENT cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
                    ),
                    (
                        "PATH",
                        f'item=1 name="{target}" inode=131377 dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0',
                    ),
                    ("PROCTITLE", f"proctitle={proctitle(argv)}"),
                ],
            )
        )

    moment = day
    for _ in range(12):  # alice's ordinary day
        moment += timedelta(minutes=rng.randint(3, 25))
        execve(
            moment,
            "alice",
            1002,
            rng.choice([["/usr/bin/psql", "-l"], ["/usr/bin/ls", "-la"], ["/usr/bin/df", "-h"]]),
            4,
        )
    execve(
        moment + timedelta(minutes=2),
        "root",
        1002,
        ["/usr/bin/systemctl", "status", "pg-backup.service"],
        4,
    )
    carol = datetime(2024, 5, 14, 9, 12, 40, tzinfo=UTC)
    execve(carol, "carol", 1003, ["/usr/bin/sudo", "-i"], 7)
    execve(
        carol + timedelta(seconds=31), "root", 1003, ["/usr/bin/tee", "/etc/sudoers.d/zz-maint"], 7
    )
    write(
        carol + timedelta(seconds=31),
        "root",
        1003,
        ["/usr/bin/tee", "/etc/sudoers.d/zz-maint"],
        "/etc/sudoers.d/zz-maint",
        7,
        "sudoers",
    )
    execve(
        carol + timedelta(seconds=50),
        "root",
        1003,
        ["/usr/bin/chmod", "440", "/etc/sudoers.d/zz-maint"],
        7,
    )
    execve(carol + timedelta(minutes=6), "alice", 1002, ["/usr/bin/sudo", "-l"], 4)
    return "".join(out)


def main(machine_id: str, export_path: str, audit_path: str) -> None:
    rng = random.Random(1405)
    Path(export_path).write_text(write_journal(rng, machine_id))
    Path(audit_path).write_text(write_audit(rng))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
