"""Write the evidence of the timeline lab: a web server that was broken into.

Deterministic (fixed seed). The host keeps local time (Europe/Tallinn, EEST,
UTC+3 in May), so /var/log/auth.log is in local time without a year or zone;
the web server logs in UTC (+0000). The story, in UTC:
  07:38-07:41  a password-guessing run against SSH from 203.0.113.45
  07:41:07     it gets in as `deploy`
  07:52:29     a web shell is uploaded through the site's upload form
  07:52:31     first request to the web shell
  07:55:10     a hidden cron file for persistence (its mtime, set by the Dockerfile)
Usage: make_evidence.py AUTH_LOG ACCESS_LOG
"""

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Europe/Tallinn")
HOST = "web01"
ATTACKER = "203.0.113.45"
OFFICE = ["10.20.0.11", "10.20.0.15"]
VISITORS = ["198.51.100.7", "198.51.100.61", "192.0.2.33", "192.0.2.80", "203.0.113.9"]
LOGIN = datetime(2024, 5, 14, 7, 41, 7, tzinfo=UTC)
UPLOAD = datetime(2024, 5, 14, 7, 52, 29, tzinfo=UTC)
SHELL = datetime(2024, 5, 14, 7, 52, 31, tzinfo=UTC)
PAGES = ["/", "/products", "/products/42", "/about", "/contact", "/static/site.css"]
AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


class AuthLog:
    """auth.log lines in local time; process ids handed out in time order on write
    (one per connection or cron run; sudo logs none)."""

    def __init__(self):
        self.events: list[tuple[datetime, int, str, str]] = []
        self.groups = 0

    def add(self, moment: datetime, program: str, messages: list[tuple[int, str]]) -> None:
        self.groups += 1
        for seconds, message in messages:
            self.events.append((moment + timedelta(seconds=seconds), self.groups, program, message))

    def lines(self, rng: random.Random) -> list[tuple[datetime, str]]:
        pids: dict[int, int] = {}
        pid, out = 3900, []
        for moment, group, program, message in sorted(self.events):
            if program == "sudo":
                tag = "sudo"
            else:
                if group not in pids:
                    pid += rng.randint(2, 9)
                    pids[group] = pid
                tag = f"{program}[{pids[group]}]"
            local = moment.astimezone(LOCAL)
            out.append((moment, f"{local:%b %e %H:%M:%S} {HOST} {tag}: {message}\n"))
        return out


def auth_log(rng: random.Random) -> list[tuple[datetime, str]]:
    log = AuthLog()
    day = datetime(2024, 5, 14, 4, 0, tzinfo=UTC)
    for minute in range(0, 8 * 60, 10):  # cron every 10 minutes, 07:00 to 15:00 local
        opened = "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
        closed = "pam_unix(cron:session): session closed for user root"
        log.add(day + timedelta(minutes=minute, seconds=1), "CRON", [(0, opened), (1, closed)])
    moment = LOGIN - timedelta(minutes=3)
    while True:  # one connection per try, as a guessing tool makes them
        moment += timedelta(seconds=rng.randint(4, 9))
        if moment >= LOGIN - timedelta(seconds=8):
            break
        port = rng.randint(40000, 60000)
        failed = f"Failed password for deploy from {ATTACKER} port {port} ssh2"
        log.add(moment, "sshd", [(0, failed)])
    port = rng.randint(40000, 60000)
    session = [
        (0, f"Accepted password for deploy from {ATTACKER} port {port} ssh2"),
        (0, "pam_unix(sshd:session): session opened for user deploy(uid=1001) by (uid=0)"),
        (1500, "pam_unix(sshd:session): session closed for user deploy"),
    ]
    log.add(LOGIN, "sshd", session)
    sudo = "  deploy : TTY=pts/0 ; PWD=/home/deploy ; USER=root ; COMMAND="
    for seconds, command in ((60, "/usr/bin/id"), (843, "/usr/bin/tee /etc/cron.d/.sys-update")):
        log.add(LOGIN + timedelta(seconds=seconds), "sudo", [(0, sudo + command)])
    for hour in (6, 9):  # staff with keys from the office, morning local time
        moment = day + timedelta(hours=hour, minutes=rng.randint(0, 50))
        key = f"Accepted publickey for alice from {rng.choice(OFFICE)} port 50122 ssh2"
        log.add(
            moment,
            "sshd",
            [(0, key + ": ED25519 SHA256:q5Zb1oYFz3n8mJc0w2LrT7vKxS9dH4gUaE6pN1yRjQo")],
        )
    return log.lines(rng)


def access_log(rng: random.Random) -> list[tuple[datetime, str]]:
    lines = []
    moment = datetime(2024, 5, 14, 5, 0, tzinfo=UTC)
    while moment < datetime(2024, 5, 14, 11, 0, tzinfo=UTC):
        moment += timedelta(seconds=rng.randint(20, 140))
        path = rng.choice(PAGES)
        size = rng.randint(900, 14000)
        request = f'"GET {path} HTTP/1.1" 200 {size} "-" "{AGENT}"'
        lines.append(
            (moment, f"{rng.choice(VISITORS)} - - [{moment:%d/%b/%Y:%H:%M:%S} +0000] {request}\n")
        )
    for when, request, status, size in (
        (UPLOAD - timedelta(seconds=40), "GET /upload.php HTTP/1.1", 200, 1380),
        (UPLOAD, "POST /upload.php HTTP/1.1", 302, 0),
        (SHELL, "GET /uploads/shell.php?cmd=id HTTP/1.1", 200, 54),
        (SHELL + timedelta(seconds=35), "GET /uploads/shell.php?cmd=uname%20-a HTTP/1.1", 200, 118),
    ):
        agent = "python-requests/2.31.0"
        line = f'{ATTACKER} - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "{request}" {status} {size} "-" "{agent}"\n'
        lines.append((when, line))
    return lines


def main(auth_path: str, access_path: str) -> None:
    rng = random.Random(514)
    for path, lines in ((auth_path, auth_log(rng)), (access_path, access_log(rng))):
        Path(path).write_text("".join(text for _, text in sorted(lines)))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
