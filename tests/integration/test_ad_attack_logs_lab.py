"""The ad-attack-logs lab (windows-ad-detection course) on the real engine: the near
misses a trainee is likely to write fail (the legacy RC4 requester, the tickets instead of
the services, the kerberoasting host, Defender, a Sigma rule without the legacy filter or
naming the account, an invalid rule), and the right answers pass in the forms Windows
writes them (a domain prefix or suffix, an address, a full path). The intended solutions
themselves are in test_lab_checks.py."""

from __future__ import annotations

import pytest

from tests.integration.conftest import new_key
from tests.integration.test_lab_checks import KERBEROASTING_RULE

pytestmark = pytest.mark.docker

RULE = "/home/trainee/kerberoasting.yml"


@pytest.fixture(scope="module")
def lab(docker_runtime, shipped_labs):
    """One started ad-attack-logs lab, shared by this module's tests: (spec, session key)."""
    spec = shipped_labs["ad-attack-logs"]
    key = new_key("adlogs-")
    docker_runtime.start(key, spec, "trainee-1", [])
    try:
        yield spec, key
    finally:
        docker_runtime.stop(key)


def check(docker_runtime, lab, task_id: str, path: str, text: str):
    """Write ``text`` into ``path`` as the trainee, then run the task's check as the platform does."""
    spec, key = lab
    task = spec.task(task_id)
    writer = f"cat > {path} <<'ANSWER'\n{text}\nANSWER"
    wrote = docker_runtime.run_check(key, task.container, writer, 10, user="trainee")
    assert wrote.passed, wrote.output
    return docker_runtime.run_check(
        key, task.container, task.run, task.timeout_seconds, user=spec.check_user(task)
    )


@pytest.mark.parametrize(
    "task_id, path, wrong, right",
    [
        (
            "roaster",
            "answer-roaster.txt",
            ["svc-report@CORP.EXAMPLE", "adm.tan"],
            ["CORP\\L.Goh", "l.goh@CORP.EXAMPLE"],
        ),
        ("spn-count", "answer-spn-count.txt", ["10", "19"], ["9"]),
        (
            "pth-host",
            "answer-pth-host.txt",
            ["WS-057", "10.20.0.57", "SCAN01"],
            ["ws-031", "10.20.0.31"],
        ),
        (
            "lsass-reader",
            "answer-lsass-reader.txt",
            ["MsMpEng.exe", "lsass.exe", "powershell.exe"],
            ["C:\\ProgramData\\Intel\\igfxhelper.exe", "IGFXHELPER.EXE"],
        ),
    ],
)
def test_near_misses_fail_and_written_forms_pass(docker_runtime, lab, task_id, path, wrong, right):
    for answer in wrong:
        assert not check(docker_runtime, lab, task_id, f"~/{path}", answer).passed, answer
    for answer in right:
        assert check(docker_runtime, lab, task_id, f"~/{path}", answer).passed, answer


def test_sigma_rule_must_match_the_burst_and_nothing_else(docker_runtime, lab):
    every_rc4_ticket = KERBEROASTING_RULE.replace(
        "  filter_legacy_app: {TargetUserName|startswith: 'svc-report@'}\n", ""
    )
    result = check(docker_runtime, lab, "sigma-rule", RULE, every_rc4_ticket)
    assert not result.passed and "matched 19 events" in result.output

    naming_the_account = every_rc4_ticket.replace(
        "selection: {", "selection: {TargetUserName: 'l.goh@CORP.EXAMPLE', "
    )
    result = check(docker_runtime, lab, "sigma-rule", RULE, naming_the_account)
    assert not result.passed and "names the account" in result.output

    result = check(docker_runtime, lab, "sigma-rule", RULE, "title: no detection\n")
    assert not result.passed and "sigma-hunt" in result.output  # pySigma's error is shown

    unknown_field = KERBEROASTING_RULE.replace("TicketEncryptionType", "EncryptionType")
    result = check(docker_runtime, lab, "sigma-rule", RULE, unknown_field)
    assert not result.passed and "no such column" in result.output

    result = check(docker_runtime, lab, "sigma-rule", RULE, KERBEROASTING_RULE)
    assert result.passed and "matched 9 events" in result.output
