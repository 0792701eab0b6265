"""Write Security.xml: a Windows Security log as `evtx_dump.py` (python3-evtx) prints it.

Deterministic (fixed seed). The story on WS-042 (times in UTC, as EVTX stores them):
  07:30-07:40  password spraying over the network (logon type 3) from 203.0.113.77:
               a few tries for each of many accounts; SubStatus 0xC000006A (wrong
               password) for accounts that exist, 0xC0000064 for names that do not
  07:41:07     one of them works: 4624 type 3 for j.tan from that address
  07:49:30     4720: j.tan creates svc-backup2; 07:49:41 4732: added to Administrators
Around it: ordinary interactive and network logons of staff, a few typos.
Usage: make_security_xml.py OUTPUT
"""

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

COMPUTER = "WS-042.corp.example"
SPRAYER = "203.0.113.77"
STAFF = ["j.tan", "m.ng", "a.rahman", "s.lim", "k.wong", "p.koh", "r.ong", "d.chua"]
GHOSTS = ["administrator1", "test", "scanner", "backup", "sql", "guest1"]
OFFICE = ["10.20.0.11", "10.20.0.15", "10.20.0.23", "10.20.0.31"]
PROVIDER = (
    '<Provider Name="Microsoft-Windows-Security-Auditing" '
    'Guid="{54849625-5478-4994-a5ba-3e3b0328c30d}"></Provider>'
)


class Log:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.events: list[tuple[datetime, int, dict[str, str]]] = []

    def add(self, moment: datetime, event_id: int, data: dict[str, str]) -> None:
        self.events.append((moment, event_id, data))

    def logon(self, moment, user, ip, logon_type, logon_id):
        if logon_type == 2:  # at the console: Windows records the loopback address
            ip = "127.0.0.1"
        self.add(
            moment,
            4624,
            {
                "SubjectUserSid": "S-1-5-18",
                "SubjectUserName": "WS-042$",
                "SubjectDomainName": "CORP",
                "TargetUserName": user,
                "TargetDomainName": "CORP",
                "TargetLogonId": logon_id,
                "LogonType": str(logon_type),
                "LogonProcessName": "NtLmSsp" if logon_type == 3 else "User32",
                "AuthenticationPackageName": "NTLM" if logon_type == 3 else "Negotiate",
                "WorkstationName": "-" if ip == SPRAYER else "WS-0" + str(self.rng.randint(10, 99)),
                "IpAddress": ip,
                "IpPort": str(self.rng.randint(49152, 65535)),
            },
        )

    def failure(self, moment, user, ip, sub_status, logon_type=3):
        self.add(
            moment,
            4625,
            {
                "SubjectUserSid": "S-1-0-0",
                "TargetUserName": user,
                "TargetDomainName": "CORP",
                "Status": "0xc000006d",
                "FailureReason": "%%2313",
                "SubStatus": sub_status,
                "LogonType": str(logon_type),
                "LogonProcessName": "NtLmSsp",
                "AuthenticationPackageName": "NTLM",
                "WorkstationName": "-",
                "IpAddress": ip,
                "IpPort": str(self.rng.randint(49152, 65535)),
            },
        )

    def xml(self) -> str:
        out = ['<?xml version="1.1" encoding="utf-8" standalone="yes" ?>\n', "<Events>\n"]
        for record, (moment, event_id, data) in enumerate(
            sorted(self.events, key=lambda e: e[0]), 48211
        ):
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
            fields = "\n".join(f'<Data Name="{k}">{escape(v)}</Data>' for k, v in data.items())
            out.append(
                '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
                f'{PROVIDER}\n<EventID Qualifiers="">{event_id}</EventID>\n<Version>0</Version>\n'
                "<Level>0</Level>\n<Task>12544</Task>\n<Opcode>0</Opcode>\n"
                "<Keywords>0x8020000000000000</Keywords>\n"
                f'<TimeCreated SystemTime="{stamp}"></TimeCreated>\n'
                f"<EventRecordID>{record}</EventRecordID>\n"
                '<Correlation></Correlation>\n<Execution ProcessID="712" ThreadID="1408"></Execution>\n'
                f"<Channel>Security</Channel>\n<Computer>{COMPUTER}</Computer>\n<Security></Security>\n"
                f"</System>\n<EventData>{fields}\n</EventData>\n</Event>\n"
            )
        out.append("</Events>\n")
        return "".join(out)


def main(output: str) -> None:
    rng = random.Random(4624)
    log = Log(rng)
    day = datetime(2024, 5, 14, 0, 0, tzinfo=UTC)
    for hour in range(1, 12):  # staff at work: local and network logons, some typos
        for _ in range(rng.randint(3, 7)):
            moment = day + timedelta(
                hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
            )
            user, ip = rng.choice(STAFF), rng.choice(OFFICE)
            if rng.random() < 0.1:
                log.failure(moment, user, ip, "0xc000006a")
                moment += timedelta(seconds=6)
            log.logon(moment, user, ip, rng.choice([2, 3, 3]), hex(rng.randint(0x100000, 0xFFFFFF)))
    moment = day + timedelta(hours=7, minutes=30)
    for user in rng.sample(STAFF + GHOSTS, len(STAFF + GHOSTS)):  # spraying: few tries each
        for _ in range(rng.randint(1, 3)):
            moment += timedelta(seconds=rng.randint(5, 20))
            log.failure(moment, user, SPRAYER, "0xc000006a" if user in STAFF else "0xc0000064")
    breach = day + timedelta(hours=7, minutes=41, seconds=7)
    log.logon(breach, "j.tan", SPRAYER, 3, "0x3e4f21")
    created = day + timedelta(hours=7, minutes=49, seconds=30)
    subject = {
        "SubjectUserName": "j.tan",
        "SubjectDomainName": "CORP",
        "SubjectLogonId": "0x3e4f21",
    }
    log.add(
        created,
        4720,
        {
            "TargetUserName": "svc-backup2",
            "TargetDomainName": "WS-042",
            "TargetSid": "S-1-5-21-3623811015-3361044348-30300820-1013",
            **subject,
        },
    )
    log.add(
        created + timedelta(seconds=11),
        4732,
        {
            "MemberName": "-",
            "MemberSid": "S-1-5-21-3623811015-3361044348-30300820-1013",
            "TargetUserName": "Administrators",
            "TargetDomainName": "Builtin",
            "TargetSid": "S-1-5-32-544",
            **subject,
        },
    )
    Path(output).write_text(log.xml())


if __name__ == "__main__":
    main(sys.argv[1])
