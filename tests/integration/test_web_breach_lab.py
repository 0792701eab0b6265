"""The shipped team exercise labs/web-breach on the real engine, started once for the module
through the lab runtime: every task's check fails on a fresh start and passes once the team
has done the intended work, each role running its commands as its own user on its own
workstation; the injects' command and file work when delivered as an exercise delivers
them (the command as root in its container, the file through write_files)."""

from __future__ import annotations

import time

import pytest

from lms.content.lab_model import InjectSpec, LabSpec
from lms.content.lab_parser import load_lab
from lms.labs.runtime import LABEL_CONTAINER, LABEL_SESSION, SecretFile
from tests.integration.conftest import LABS_DIR, new_key

pytestmark = pytest.mark.docker

CONSOLE = "http://admin:$(cat /tmp/console-password)@web:8080/admin"
FETCH_LOG = "wget -qO ~/access.log http://logs:8080/web/access.log"
# The analyst's pipelines: the address and the request that first carried a command (;).
INJECTED = "grep -E '%3B|%7C' ~/access.log"
FIRST_INJECTION = f"{INJECTED} | head -n 1"
LOCAL_TO_UTC = (
    # 28/Nov/2026:03:06:02 (+0100) -> 2026-11-28T02:06:02Z with busybox date
    "t=$(" + FIRST_INJECTION + " | awk '{print $4}' | tr -d '[') && "
    'set -- $(echo "$t" | awk -F\'[/:]\' \'{m = index("JanFebMarAprMayJunJulAugSepOctNovDec", $2);'
    ' printf "%s-%02d-%s %s:%s:%s", $3, (m + 2) / 3, $1, $4, $5, $6}\') && '
    'epoch=$(date -u -d "$1 $2" +%s) && '
    "date -u -d @$((epoch - 3600)) +%Y-%m-%dT%H:%M:%SZ"
)


@pytest.fixture(scope="module")
def breach(docker_client, docker_runtime, image_builder):
    """(spec, session key) of one running web-breach lab, removed after the module."""
    spec = load_lab(LABS_DIR / "web-breach")
    image_builder.build(spec)
    key = new_key("breach-")
    try:
        docker_runtime.start(key, spec, "team-1", [])
        yield spec, key
    finally:
        docker_runtime.stop(key)


def test_web_breach_is_solved_by_the_team(breach, docker_client, docker_runtime):
    spec, key = breach

    def sh(container: str, command: str, user: str | None = None) -> str:
        """Run as the container's user (a role's member on their workstation); assert 0."""
        user = user if user is not None else (spec.containers[container].user or "")
        labels = [f"{LABEL_SESSION}={key}", f"{LABEL_CONTAINER}={container}"]
        [found] = docker_client.containers.list(filters={"label": labels})
        result = found.exec_run(["sh", "-c", command], user=user)
        output = result.output.decode("utf-8", "replace")
        assert result.exit_code == 0, (container, command, output)
        return output.strip()

    def passed(task_id: str) -> bool:
        task = spec.task(task_id)
        result = docker_runtime.run_check(
            key, spec.task_container(task), task.run, task.timeout_seconds, spec.check_user(task)
        )
        return result.passed

    def wait_for(container: str, command: str, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while docker_runtime.run_check(key, container, command, 10, "0").exit_code != 0:
            assert time.monotonic() < deadline, what
            time.sleep(0.5)

    wait_for("web", "curl -sf -o /dev/null http://127.0.0.1:8080/", "web does not answer")
    wait_for("analyst", "wget -q -O /dev/null http://logs:8080/", "the log host does not answer")
    # the attacker checks in through the web shell at once; web ships it to the log host
    today = time.strftime("%d/%b/%Y", time.gmtime(time.time() + 3600))  # web's UTC+01:00
    checked_in = (
        f"wget -qO- http://logs:8080/web/access.log | grep '{today}' | grep -q 'stats.cgi?c=uptime'"
    )
    wait_for("analyst", checked_in, "the attacker's check-in never reached the log host")

    assert [t.id for t in spec.tasks if passed(t.id)] == [], "tasks pass on a fresh start"

    # -- the analyst reads the central log ------------------------------------------------
    sh("analyst", FETCH_LOG)
    sh("analyst", "echo 198.51.100.23 > ~/answer-ip.txt")  # the loudest scanner: not the one
    assert not passed("attacker-ip")
    sh("analyst", f"{INJECTED} | awk '{{print $1}}' | sort -u > ~/answer-ip.txt")
    sh("analyst", f"{FIRST_INJECTION} | awk '{{print $7}}' | sed 's/=.*//' > ~/answer-entry.txt")
    sh("analyst", "echo 2026-11-28T03:06:02Z > ~/answer-first-exploit.txt")  # local time
    assert not passed("first-exploit")
    sh("analyst", f"{LOCAL_TO_UTC} > ~/answer-first-exploit.txt")
    assert all(passed(t) for t in ("attacker-ip", "entry-point", "first-exploit"))

    # -- the second wave (minute 10), before containment: the customer list leaves ------
    wave = spec.inject("second-wave")
    assert wave.at_minute == 10
    assert "bytes taken" in deliver(docker_runtime, spec, key, wave)
    sh("analyst", FETCH_LOG)
    sh("analyst", "grep -o '/srv/www/data/[^% ]*' ~/access.log | sort -u > ~/answer-exfil-file.txt")
    assert passed("exfil-file")

    # -- the lead hands out the password; the responder contains web ---------------------
    password = sh("lead", "sed -n 's/^ *password: *//p' ~/runbook.md")
    sh("responder", f"echo {password} > /tmp/console-password")
    attacker_ip = sh("analyst", "cat ~/answer-ip.txt")
    sh("responder", f"wget -qO- --post-data 'ip={attacker_ip}' {CONSOLE}/deny")
    assert passed("block-attacker")
    listing = sh("responder", f'wget -qO- "{CONSOLE}/files?dir=/srv/www/cgi-bin"')
    assert "2026-11-28 03:07:40 +0100" in listing and "stats.cgi" in listing
    entry_script = sh("analyst", "cat ~/answer-entry.txt").split("?")[0]
    for planted in ("/srv/www/cgi-bin/stats.cgi", f"/srv/www{entry_script}"):
        sh("responder", f"wget -qO- --post-data 'path={planted}' {CONSOLE}/quarantine")
    processes = f"wget -qO- {CONSOLE}/processes"
    beacon_pid = sh("responder", f"{processes} | grep '/tmp/[.]sync' | awk '{{print $1}}'")
    assert beacon_pid.isdigit(), beacon_pid
    sh("responder", f"wget -qO- --post-data 'pid={beacon_pid}' {CONSOLE}/kill")
    assert passed("quarantine-web-shell") and passed("close-entry-point")
    wait_for("web", "! pgrep -f '^/bin/sh /[t]mp/[.]sync'", "the beacon is still running", 10)
    assert passed("stop-beacon")
    assert "refused" in deliver(docker_runtime, spec, key, wave)  # blocked now

    # -- the lead's report, from everyone's findings --------------------------------------
    findings = {
        "attacker_ip": attacker_ip,
        "entry_point": sh("analyst", "cat ~/answer-entry.txt"),
        "first_exploited_utc": sh("analyst", "cat ~/answer-first-exploit.txt"),
        "web_shell": "/srv/www/cgi-bin/stats.cgi",
        "beacon": "/tmp/.sync",
    }
    report = "summary: Intruder used the lookup tool, planted a web shell; contained.\n"
    report += "".join(f"{name}: {value}\n" for name, value in findings.items())
    sh("lead", f"printf '%s' '{report}data_left: no\n' > ~/incident-report.txt")
    assert not passed("incident-report"), "the second wave's 200 says the data left"
    sh("lead", f"printf '%s' '{report}data_left: yes\n' > ~/incident-report.txt")
    assert [t.id for t in spec.tasks if not passed(t.id)] == []

    # -- the inject fired by hand writes the memo to the lead's workstation ---------------
    memo = spec.inject("status-request")
    assert memo.at_minute is None and spec.inject("defacement").at_minute == 0
    deliver(docker_runtime, spec, key, memo)
    assert "Was customer data taken?" in sh("lead", "cat ~/memo-management.txt")


def deliver(runtime, spec: LabSpec, key: str, inject: InjectSpec) -> str:
    """Deliver an inject's file and command as the exercise does; the command's output."""
    if inject.file is not None:  # owned by the container's user, as lms.exercises.play does
        f = inject.file
        owner = spec.containers[f.container].user
        secret = SecretFile(f.container, f.path, f.content.encode(), mode=f.mode, owner=owner)
        runtime.write_files(key, [secret])
    if inject.run is None:
        return ""
    run = inject.run
    user = "0" if run.as_root else (spec.containers[run.container].user or "")
    result = runtime.run_check(key, run.container, run.command, run.timeout_seconds, user)
    assert result.passed, result.output
    return result.output
