"""The stix-bundle lab on the real engine: the trainee's bundle is checked with the stix2
library inside the lab, the intended bundle passes every task, and the usual mistakes
(the wrong TLP level, TLP 1.0's marking, a pattern with the wrong address, a pattern that
is no STIX pattern) fail with feedback that names the mistake."""

from __future__ import annotations

import pytest

from tests.integration.stix_bundles import (
    TLP1_AMBER,
    TLP2_AMBER_STRICT,
    bundle,
    write_command,
)

pytestmark = pytest.mark.docker

SLUG = "stix-bundle"


@pytest.fixture
def stix_lab(shipped_labs, lab_session, lab_exec, docker_runtime):
    """write(data) puts a bundle in the trainee's ~/bundle.json; check(task) runs that
    check task as the platform does and gives (passed, output)."""
    spec = shipped_labs[SLUG]
    key = lab_session(spec).session_key

    def write(data: dict) -> None:
        code, output = lab_exec(key, "main", write_command(data), "trainee")
        assert code == 0, output

    def check(task_id: str) -> tuple[bool, str]:
        task = spec.task(task_id)
        result = docker_runtime.run_check(
            key, task.container, task.run, task.timeout_seconds, user=spec.check_user(task)
        )
        return result.passed, result.output

    def helper(command: str) -> str:
        return lab_exec(key, "main", command, "trainee")[1]

    return write, check, helper


def test_bundle_is_checked_with_stix2_and_mistakes_are_named(stix_lab):
    write, check, helper = stix_lab

    # what the trainee starts from: the findings, the template, the validator's advice
    assert "198.51.100.23" in helper("cat ~/case/findings.md")
    passed, output = check("indicator")
    assert not passed and "bundle.json does not exist" in output
    helper("cp ~/case/bundle-template.json ~/bundle.json")
    assert "FILL-ME placeholders" in helper("validate-bundle")
    assert helper("validate-bundle --new-id indicator").startswith("indicator--")

    write(bundle())
    for task in ("indicator", "technique", "marking"):
        passed, output = check(task)
        assert passed, (task, output)

    write(bundle(marking=TLP2_AMBER_STRICT))
    passed, output = check("marking")
    assert not passed
    assert "marked TLP:AMBER+STRICT, but the findings are shared at TLP:AMBER" in output
    assert check("indicator")[0], "a wrong marking is the marking task's business only"

    write(bundle(marking=TLP1_AMBER))
    passed, output = check("marking")
    assert not passed and "TLP 1.0" in output

    write(bundle(pattern="[ipv4-addr:value = '203.0.113.5']"))
    passed, output = check("indicator")
    assert not passed
    assert "compares ipv4-addr:value with '203.0.113.5', but the findings say 198.51.100.23" in (
        output
    )
    assert "update-telemetry.example.net) is in no indicator pattern" in output

    # not a STIX pattern at all: the stix2 library itself refuses the bundle
    write(bundle(pattern="[ipv4-addr:value = 198.51.100.23]"))
    passed, output = check("indicator")
    assert not passed and "the stix2 library refuses the bundle" in output

    # STIX 2.0's habit of a spec_version on the bundle is named, not left to the library's
    # "must equal '2.0'"
    write({**bundle(), "spec_version": "2.1"})
    passed, output = check("indicator")
    assert not passed and "a STIX 2.1 bundle has no spec_version of its own" in output
