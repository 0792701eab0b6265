"""Write the case folder of the log-formats lab: an application's JSON log with
epoch-millisecond times, and a directory export with Windows FILETIME values.

Deterministic (fixed seed). The story: someone guesses m.ng's password in the
web application, then resets it through the help desk flow; the directory's
pwdLastSet records the same reset in FILETIME.
Usage: make_case.py FOLDER
"""

import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

USERS = ["j.tan", "m.ng", "a.rahman", "s.lim", "k.wong"]
OFFICE = ["10.20.0.11", "10.20.0.15", "10.20.0.23"]
GUESSER = "198.51.100.23"
VICTIM = "m.ng"
RESET = datetime(2024, 5, 14, 8, 12, 45, 318000, tzinfo=UTC)
FAILED_BEFORE_RESET = 27
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def filetime(moment: datetime) -> int:
    return (moment - FILETIME_EPOCH) // timedelta(microseconds=1) * 10


def app_log(rng: random.Random) -> str:
    events = []
    moment = datetime(2024, 5, 14, 5, 0, tzinfo=UTC)
    while moment < datetime(2024, 5, 14, 11, 0, tzinfo=UTC):
        moment += timedelta(seconds=rng.randint(30, 400), milliseconds=rng.randint(0, 999))
        user = rng.choice(USERS)
        event = (
            "login_failed"
            if rng.random() < 0.05
            else rng.choice(["login_ok", "page_view", "logout"])
        )
        events.append(
            (
                moment,
                {
                    "level": "warn" if event == "login_failed" else "info",
                    "event": event,
                    "user": user,
                    "ip": rng.choice(OFFICE),
                },
            )
        )
    moment = RESET - timedelta(minutes=14)
    for _ in range(FAILED_BEFORE_RESET):
        moment += timedelta(seconds=rng.randint(15, 30), milliseconds=rng.randint(0, 999))
        events.append(
            (moment, {"level": "warn", "event": "login_failed", "user": VICTIM, "ip": GUESSER})
        )
    events.append(
        (
            RESET,
            {
                "level": "info",
                "event": "password_reset",
                "user": VICTIM,
                "ip": GUESSER,
                "channel": "helpdesk-self-service",
            },
        )
    )
    events.append(
        (
            RESET + timedelta(seconds=41),
            {"level": "info", "event": "login_ok", "user": VICTIM, "ip": GUESSER},
        )
    )
    lines = []
    for when, fields in sorted(events, key=lambda e: e[0]):
        lines.append(json.dumps({"ts": epoch_ms(when), **fields}) + "\n")
    return "".join(lines)


def directory_export(rng: random.Random) -> str:
    """sAMAccountName and pwdLastSet, as an export of the directory prints them."""
    rows = ["sAMAccountName,pwdLastSet\n"]
    for user in USERS:
        changed = (
            RESET
            if user == VICTIM
            else datetime(2024, rng.randint(2, 4), rng.randint(1, 28), 9, tzinfo=UTC)
        )
        rows.append(f"{user},{filetime(changed)}\n")
    return "".join(rows)


def main(folder: str) -> None:
    rng = random.Random(2024)
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.json").write_text(app_log(rng))
    (root / "ad-users.csv").write_text(directory_export(rng))


if __name__ == "__main__":
    main(sys.argv[1])
