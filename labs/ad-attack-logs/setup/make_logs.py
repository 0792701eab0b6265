"""Write two exported Windows logs as `evtx_dump.py` (python3-evtx) prints them.

Deterministic (fixed seed). The story on 2024-06-11 (times in UTC, as EVTX stores them):
  DC01-Security.xml (the domain controller DC01): a working day of Kerberos (4768 TGTs
    with pre-authentication, 4769 service tickets with AES, a legacy application that
    still gets RC4 tickets), Kerberos logons, NTLM logons of an old file scanner and
    anonymous NTLM sessions; then
  09:14:02-09:14:40  l.goh requests RC4 (0x17) service tickets for nine service accounts
                     from 10.20.0.57 (kerberoasting);
  09:52:18           adm.tan logs on over the network with NTLM and KeyLength 0 from
                     WS-031 / 10.20.0.31 (pass-the-hash), with 4672 special privileges.
  WS-057-Sysmon.xml (l.goh's workstation WS-057): processes, network connections,
    DNS queries, files; Defender and system processes open lsass as they always do; then
  09:31:45  C:\\ProgramData\\Intel\\igfxhelper.exe, started by PowerShell, opens lsass.exe
            with GrantedAccess 0x1010 and an UNKNOWN frame in its call trace.
Usage: make_logs.py OUTPUT_FOLDER
"""

import hashlib
import random
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

DAY = datetime(2024, 6, 11, tzinfo=UTC)
DOMAIN = "CORP.EXAMPLE"
DOMAIN_SID = "S-1-5-21-3623811015-3361044348-30300820"
STAFF = ["j.tan", "m.ng", "a.rahman", "s.lim", "k.wong", "p.koh", "r.ong", "d.chua", "l.goh"]
HOSTS = {user: f"10.20.0.{11 + 4 * n}" for n, user in enumerate(STAFF)}
HOSTS["l.goh"] = "10.20.0.57"
# Service accounts with an SPN: what a kerberoaster asks tickets for.
SERVICES = [
    "svc-sql",
    "svc-backup",
    "svc-web",
    "svc-sharepoint",
    "svc-exchange",
    "svc-adfs",
    "svc-scan",
    "svc-report",
    "svc-legacyapp",
]
# Computer accounts: the ordinary service tickets of a working day.
COMPUTERS = ["FS01$", "DC01$", "INTRANET01$", "PRINT01$", "SQL01$"]
ROASTER, ROAST_IP = "l.goh", "::ffff:10.20.0.57"
PTH_USER, PTH_HOST, PTH_IP = "adm.tan", "WS-031", "10.20.0.31"
SECURITY = (
    '<Provider Name="Microsoft-Windows-Security-Auditing" '
    'Guid="{54849625-5478-4994-a5ba-3e3b0328c30d}"></Provider>'
)
SYSMON = (
    '<Provider Name="Microsoft-Windows-Sysmon" '
    'Guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}"></Provider>'
)
SECURITY_TASKS = {4768: 14339, 4769: 14337, 4771: 14339, 4624: 12544, 4672: 12548}
LSASS = "C:\\Windows\\system32\\lsass.exe"
DEFENDER = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24040.4-0\\MsMpEng.exe"
DROPPER = "C:\\ProgramData\\Intel\\igfxhelper.exe"


class Log:
    def __init__(self, rng: random.Random, provider: str, channel: str, computer: str):
        self.rng, self.provider, self.channel, self.computer = rng, provider, channel, computer
        self.events: list[tuple[datetime, int, dict[str, str]]] = []

    def add(self, moment: datetime, event_id: int, data: dict[str, str]) -> None:
        self.events.append((moment, event_id, data))

    def port(self) -> str:
        return str(self.rng.randint(49152, 65535))

    def guid(self) -> str:
        return "{" + str(uuid.UUID(int=self.rng.getrandbits(128))) + "}"

    def xml(self, first_record: int) -> str:
        sysmon = self.channel != "Security"
        out = ['<?xml version="1.1" encoding="utf-8" standalone="yes" ?>\n', "<Events>\n"]
        ordered = sorted(self.events, key=lambda e: e[0])
        for record, (moment, event_id, data) in enumerate(ordered, first_record):
            stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
            if sysmon:
                data = {"RuleName": "-", "UtcTime": stamp[:-3], **data}
            fields = "\n".join(f'<Data Name="{k}">{escape(v)}</Data>' for k, v in data.items())
            version = 5 if sysmon and event_id == 1 else (3 if sysmon else 0)
            task = event_id if sysmon else SECURITY_TASKS[event_id]
            keywords = "0x8000000000000000" if sysmon else "0x8020000000000000"
            level = 4 if sysmon else 0
            execution = (
                'ProcessID="3120" ThreadID="4312"' if sysmon else 'ProcessID="652" ThreadID="2204"'
            )
            security = (
                '<Security UserID="S-1-5-18"></Security>' if sysmon else "<Security></Security>"
            )
            out.append(
                '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System>'
                f'{self.provider}\n<EventID Qualifiers="">{event_id}</EventID>\n'
                f"<Version>{version}</Version>\n<Level>{level}</Level>\n<Task>{task}</Task>\n"
                f"<Opcode>0</Opcode>\n<Keywords>{keywords}</Keywords>\n"
                f'<TimeCreated SystemTime="{stamp}"></TimeCreated>\n'
                f"<EventRecordID>{record}</EventRecordID>\n"
                f"<Correlation></Correlation>\n<Execution {execution}></Execution>\n"
                f"<Channel>{self.channel}</Channel>\n<Computer>{self.computer}</Computer>\n"
                f"{security}\n</System>\n<EventData>{fields}\n</EventData>\n</Event>\n"
            )
        out.append("</Events>\n")
        return "".join(out)


def sid(rid: int) -> str:
    return f"{DOMAIN_SID}-{rid}"


RIDS = {name: 1100 + n for n, name in enumerate(STAFF + SERVICES + COMPUTERS + [PTH_USER])}


def tgt(log: Log, moment, user, ip, pre_auth="2", encryption="0x12"):
    log.add(
        moment,
        4768,
        {
            "TargetUserName": user,
            "TargetDomainName": "CORP",
            "TargetSid": sid(RIDS[user]),
            "ServiceName": "krbtgt",
            "ServiceSid": sid(502),
            "TicketOptions": "0x40810010",
            "Status": "0x0",
            "TicketEncryptionType": encryption,
            "PreAuthType": pre_auth,
            "IpAddress": ip,
            "IpPort": log.port(),
            "CertIssuerName": "",
            "CertSerialNumber": "",
            "CertThumbprint": "",
        },
    )


def service_ticket(log: Log, moment, user, service, ip, encryption="0x12"):
    log.add(
        moment,
        4769,
        {
            "TargetUserName": f"{user}@{DOMAIN}",
            "TargetDomainName": DOMAIN,
            "ServiceName": service,
            "ServiceSid": sid(RIDS[service]),
            "TicketOptions": "0x40810000",
            "TicketEncryptionType": encryption,
            "IpAddress": ip,
            "IpPort": log.port(),
            "Status": "0x0",
            "LogonGuid": log.guid(),
            "TransmittedServices": "-",
        },
    )


def logon(log: Log, moment, user, ip, workstation, package, key_length, logon_type=3):
    kerberos = package == "Kerberos"
    log.add(
        moment,
        4624,
        {
            "SubjectUserSid": "S-1-0-0",
            "SubjectUserName": "-",
            "SubjectDomainName": "-",
            "SubjectLogonId": "0x0",
            "TargetUserSid": "S-1-5-7" if user == "ANONYMOUS LOGON" else sid(RIDS[user]),
            "TargetUserName": user,
            "TargetDomainName": "NT AUTHORITY" if user == "ANONYMOUS LOGON" else "CORP",
            "TargetLogonId": hex(log.rng.randint(0x1000000, 0xFFFFFFF)),
            "LogonType": str(logon_type),
            "LogonProcessName": "Kerberos" if kerberos else "NtLmSsp",
            "AuthenticationPackageName": package,
            "WorkstationName": "-" if kerberos else workstation,
            "LogonGuid": log.guid() if kerberos else "{00000000-0000-0000-0000-000000000000}",
            "TransmittedServices": "-",
            "LmPackageName": "-" if kerberos or key_length == "0" else "NTLM V2",
            "KeyLength": key_length,
            "ProcessId": "0x0",
            "ProcessName": "-",
            "IpAddress": ip,
            "IpPort": log.port(),
            "ImpersonationLevel": "%%1833",
            "RestrictedAdminMode": "-",
            "TargetOutboundUserName": "-",
            "TargetOutboundDomainName": "-",
            "VirtualAccount": "%%1843",
            "TargetLinkedLogonId": "0x0",
            "ElevatedToken": "%%1843",
        },
    )
    return log.events[-1][2]["TargetLogonId"]


def domain_controller(rng: random.Random) -> Log:
    log = Log(rng, SECURITY, "Security", "DC01.corp.example")
    for user in STAFF:  # the morning: a TGT each, then service tickets and logons all day
        ip = "::ffff:" + HOSTS[user]
        start = DAY + timedelta(hours=1, minutes=rng.randint(0, 50), seconds=rng.randint(0, 59))
        if rng.random() < 0.4:  # a mistyped password first: pre-authentication failed
            log.add(
                start - timedelta(seconds=9),
                4771,
                {
                    "TargetUserName": user,
                    "TargetSid": sid(RIDS[user]),
                    "ServiceName": f"krbtgt/{DOMAIN}",
                    "TicketOptions": "0x40810010",
                    "Status": "0x18",
                    "PreAuthType": "2",
                    "IpAddress": ip,
                    "IpPort": log.port(),
                    "CertIssuerName": "",
                    "CertSerialNumber": "",
                    "CertThumbprint": "",
                },
            )
        tgt(log, start, user, ip)
        for _ in range(rng.randint(6, 12)):
            moment = start + timedelta(minutes=rng.randint(1, 540), seconds=rng.randint(0, 59))
            service_ticket(log, moment, user, rng.choice(COMPUTERS), ip)
            if rng.random() < 0.5:
                logon(log, moment + timedelta(seconds=1), user, ip, "-", "Kerberos", "0")
    for hour in range(1, 11):  # the reporting service still asks RC4 for a legacy app
        moment = DAY + timedelta(hours=hour, minutes=5, seconds=rng.randint(0, 59))
        service_ticket(log, moment, "svc-report", "svc-legacyapp", "::ffff:10.20.1.40", "0x17")
        service_ticket(
            log, moment + timedelta(seconds=2), "svc-web", "svc-sql", "::ffff:10.20.1.41"
        )
    for minute in range(60, 600, 37):  # an old file scanner: NTLM with a session key
        moment = DAY + timedelta(minutes=minute, seconds=rng.randint(0, 59))
        logon(log, moment, "svc-scan", "10.20.1.60", "SCAN01", "NTLM", "128")
    for minute in range(75, 600, 90):  # anonymous NTLM sessions: KeyLength 0, not an attack
        moment = DAY + timedelta(minutes=minute, seconds=rng.randint(0, 59))
        logon(log, moment, "ANONYMOUS LOGON", "10.20.1.60", "SCAN01", "NTLM", "0")
    moment = DAY + timedelta(hours=9, minutes=14, seconds=2)  # the kerberoasting burst
    for service in rng.sample(SERVICES, len(SERVICES)):
        service_ticket(log, moment, ROASTER, service, ROAST_IP, "0x17")
        moment += timedelta(seconds=rng.randint(2, 6))
    # AS-REP roastable: one account without pre-authentication (a finding, not this case's)
    tgt(
        log,
        DAY + timedelta(hours=3, minutes=2, seconds=11),
        "svc-backup",
        "::ffff:10.20.1.12",
        "0",
        "0x17",
    )
    # the admin's ordinary Kerberos logons from the helpdesk PC, then the pass-the-hash
    for hour in (2, 5, 8):
        moment = DAY + timedelta(hours=hour, minutes=rng.randint(0, 59))
        service_ticket(log, moment, PTH_USER, "DC01$", "::ffff:10.20.0.90")
        logon(
            log, moment + timedelta(seconds=1), PTH_USER, "::ffff:10.20.0.90", "-", "Kerberos", "0"
        )
    moment = DAY + timedelta(hours=9, minutes=52, seconds=18)
    logon_id = logon(log, moment, PTH_USER, PTH_IP, PTH_HOST, "NTLM", "0")
    log.add(
        moment,
        4672,
        {
            "SubjectUserSid": sid(RIDS[PTH_USER]),
            "SubjectUserName": PTH_USER,
            "SubjectDomainName": "CORP",
            "SubjectLogonId": logon_id,
            "PrivilegeList": "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege"
            "\n\t\t\tSeTakeOwnershipPrivilege\n\t\t\tSeDebugPrivilege",
        },
    )
    return log


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest().upper()


def workstation(rng: random.Random) -> Log:
    log = Log(rng, SYSMON, "Microsoft-Windows-Sysmon/Operational", "WS-057.corp.example")
    user = "CORP\\l.goh"
    processes: dict[str, tuple[str, str]] = {}  # image: (guid, pid)

    def process(moment, image, command, parent, integrity="Medium", who=user):
        guid, pid = log.guid(), str(rng.randint(1000, 15000))
        parent_guid, parent_pid = processes.get(parent, (log.guid(), "4012"))
        name = image.rsplit("\\", 1)[1]
        log.add(
            moment,
            1,
            {
                "ProcessGuid": guid,
                "ProcessId": pid,
                "Image": image,
                "FileVersion": "-" if image == DROPPER else "10.0.19041.1",
                "Description": "-" if image == DROPPER else name,
                "Product": "-" if image == DROPPER else "Microsoft Windows",
                "Company": "-" if image == DROPPER else "Microsoft Corporation",
                "OriginalFileName": "-" if image == DROPPER else name.upper(),
                "CommandLine": command,
                "CurrentDirectory": "C:\\Users\\l.goh\\",
                "User": who,
                "LogonGuid": "{7d1c3a0e-2b51-6668-6a1f-0b0000000000}",
                "LogonId": "0xb1f6a",
                "TerminalSessionId": "1",
                "IntegrityLevel": integrity,
                "Hashes": f"SHA256={sha256(image)},IMPHASH={sha256(name)[:32]}",
                "ParentProcessGuid": parent_guid,
                "ParentProcessId": parent_pid,
                "ParentImage": parent,
                "ParentCommandLine": parent.rsplit("\\", 1)[1],
                "ParentUser": who,
            },
        )
        processes[image] = (guid, pid)

    def connect(moment, image, ip, port, name):
        guid, pid = processes[image]
        log.add(
            moment,
            3,
            {
                "ProcessGuid": guid,
                "ProcessId": pid,
                "Image": image,
                "User": user,
                "Protocol": "tcp",
                "Initiated": "true",
                "SourceIsIpv6": "false",
                "SourceIp": "10.20.0.57",
                "SourceHostname": "WS-057.corp.example",
                "SourcePort": log.port(),
                "SourcePortName": "-",
                "DestinationIsIpv6": "false",
                "DestinationIp": ip,
                "DestinationHostname": name,
                "DestinationPort": str(port),
                "DestinationPortName": "https" if port == 443 else "-",
            },
        )

    def dns(moment, image, query, answer):
        guid, pid = processes[image]
        log.add(
            moment,
            22,
            {
                "ProcessGuid": guid,
                "ProcessId": pid,
                "QueryName": query,
                "QueryStatus": "0",
                "QueryResults": f"::ffff:{answer};",
                "Image": image,
                "User": user,
            },
        )

    def file_created(moment, image, path):
        guid, pid = processes[image]
        log.add(
            moment,
            11,
            {
                "ProcessGuid": guid,
                "ProcessId": pid,
                "Image": image,
                "TargetFilename": path,
                "CreationUtcTime": moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                "User": user,
            },
        )

    def lsass_access(moment, image, access, trace, who="NT AUTHORITY\\SYSTEM"):
        guid, pid = processes.get(image, (log.guid(), str(rng.randint(1000, 9000))))
        log.add(
            moment,
            10,
            {
                "SourceProcessGUID": guid,
                "SourceProcessId": pid,
                "SourceThreadId": str(rng.randint(1000, 20000)),
                "SourceImage": image,
                "TargetProcessGUID": "{7d1c3a0e-1f03-6668-0c00-000000000b00}",
                "TargetProcessId": "788",
                "TargetImage": LSASS,
                "GrantedAccess": access,
                "CallTrace": trace,
                "SourceUser": who,
                "TargetUser": "NT AUTHORITY\\SYSTEM",
            },
        )

    explorer = "C:\\Windows\\explorer.exe"
    apps = {
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe": [
            ("www.google.com", "142.250.4.100"),
            ("intranet.corp.example", "10.20.1.20"),
            ("outlook.office365.com", "52.98.152.178"),
        ],
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE": [
            ("outlook.office365.com", "52.98.152.178"),
        ],
        "C:\\Users\\l.goh\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe": [
            ("teams.microsoft.com", "52.113.194.132"),
        ],
    }
    start = DAY + timedelta(hours=1, minutes=2)
    process(start, explorer, "C:\\Windows\\Explorer.EXE", "C:\\Windows\\System32\\userinit.exe")
    for image, sites in apps.items():
        moment = start + timedelta(minutes=rng.randint(1, 20))
        process(moment, image, f'"{image}"', explorer)
        for _ in range(rng.randint(5, 9)):
            moment += timedelta(minutes=rng.randint(3, 50), seconds=rng.randint(0, 59))
            name, ip = rng.choice(sites)
            dns(moment, image, name, ip)
            connect(moment + timedelta(milliseconds=40), image, ip, 443, name)
    chrome = next(iter(apps))
    for n, doc in enumerate(["Q2-budget.xlsx", "minutes-0611.docx", "roster.pdf"]):
        moment = DAY + timedelta(hours=2 + n, minutes=rng.randint(0, 59))
        file_created(moment, chrome, f"C:\\Users\\l.goh\\Downloads\\{doc}")
    for hour in range(1, 11):  # what opens lsass every day: Defender, svchost, WMI
        base = DAY + timedelta(hours=hour, minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
        lsass_access(
            base,
            DEFENDER,
            "0x1000",
            "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e"
            "|C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24040.4-0\\mpsvc.dll+1a6f9",
        )
        lsass_access(
            base + timedelta(minutes=7),
            "C:\\Windows\\system32\\svchost.exe",
            "0x1000",
            "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e"
            "|c:\\windows\\system32\\lsm.dll+e959",
        )
        if hour % 3 == 0:
            lsass_access(
                base + timedelta(minutes=19),
                "C:\\Windows\\system32\\wbem\\wmiprvse.exe",
                "0x1400",
                "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e"
                "|C:\\Windows\\system32\\wbem\\cimwin32.dll+28c8a",
                "NT AUTHORITY\\NETWORK SERVICE",
            )
    # the intrusion: a macro starts PowerShell, which fetches and runs a renamed dumper
    moment = DAY + timedelta(hours=9, minutes=2, seconds=12)
    powershell = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    word = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
    process(
        moment - timedelta(minutes=1),
        word,
        f'"{word}" /n "C:\\Users\\l.goh\\Downloads\\minutes-0611.docx"',
        explorer,
    )
    process(
        moment,
        powershell,
        "powershell.exe -nop -w hidden -ep bypass -enc SQBFAFgAIAAoAE4AZQB3AC0A",
        word,
    )
    dns(moment + timedelta(seconds=3), powershell, "cdn-update.example.net", "198.51.100.23")
    connect(
        moment + timedelta(seconds=3), powershell, "198.51.100.23", 443, "cdn-update.example.net"
    )
    file_created(moment + timedelta(seconds=9), powershell, DROPPER)
    moment = DAY + timedelta(hours=9, minutes=31, seconds=40)
    process(moment, DROPPER, f'"{DROPPER}" /silent /log igfx.log', powershell, "High")
    lsass_access(
        moment + timedelta(seconds=5),
        DROPPER,
        "0x1010",
        "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e"
        "|UNKNOWN(00007FF6A3B1C2F4)",
        user,
    )
    file_created(moment + timedelta(seconds=8), DROPPER, "C:\\ProgramData\\Intel\\igfx.log")
    return log


def main(folder: str) -> None:
    rng = random.Random(4769)
    out = Path(folder)
    out.joinpath("DC01-Security.xml").write_text(domain_controller(rng).xml(1807334))
    out.joinpath("WS-057-Sysmon.xml").write_text(workstation(rng).xml(220118))


if __name__ == "__main__":
    main(sys.argv[1])
