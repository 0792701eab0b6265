"""STIX 2.1 bundles a trainee of the stix-bundle lab writes from its findings: the
intended solution, built step by step as the lab's three tasks ask, and its usual
mistakes. Shared by the lab's own test and the check tasks' solvability test."""

from __future__ import annotations

import json
import shlex

TLP2_AMBER = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
TLP2_AMBER_STRICT = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
TLP1_AMBER = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

CENTRE = "identity--0c6b2a4e-3f43-4f7e-9d0e-6f1b5a2c7d10"
INDICATOR = "indicator--5b1e6f2a-8c3d-4e7f-a1b2-c3d4e5f60718"
TECHNIQUE = "attack-pattern--9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
WHEN = "2026-11-25T09:00:00.000Z"
FINDINGS_PATTERN = (
    "[ipv4-addr:value = '198.51.100.23'] OR [domain-name:value = 'update-telemetry.example.net'] "
    "OR [file:hashes.'SHA-256' = "
    "'4a5d7f4b1d08a3bfc5e0c8192f659b217e6aee6c83dc32a69d1b98af82806fcc']"
)
AMBER_DEFINITION = {
    "type": "marking-definition",
    "spec_version": "2.1",
    "id": TLP2_AMBER,
    "created": "2022-10-01T00:00:00.000Z",
    "name": "TLP:AMBER",
    "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": "amber"}},
}


def _common(kind: str, object_id: str) -> dict:
    return {"type": kind, "spec_version": "2.1", "id": object_id, "created": WHEN, "modified": WHEN}


def bundle(
    steps: int = 3, pattern: str = FINDINGS_PATTERN, marking: str | None = TLP2_AMBER
) -> dict:
    """The bundle after ``steps`` of the lab's tasks (1: identity and indicator,
    2: + attack-pattern and relationship, 3: + every object marked ``marking``)."""
    objects = [
        {
            **_common("identity", CENTRE),
            "name": "Joint Cyber Centre",
            "identity_class": "organization",
        },
        {
            **_common("indicator", INDICATOR),
            "created_by_ref": CENTRE,
            "name": "PowerShell loader infrastructure",
            "indicator_types": ["malicious-activity"],
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": WHEN,
        },
    ]
    if steps >= 2:
        objects += [
            {
                **_common("attack-pattern", TECHNIQUE),
                "created_by_ref": CENTRE,
                "name": "Command and Scripting Interpreter: PowerShell",
                "external_references": [
                    {
                        "source_name": "mitre-attack",
                        "external_id": "T1059.001",
                        "url": "https://attack.mitre.org/techniques/T1059/001/",
                    }
                ],
            },
            {
                **_common("relationship", "relationship--2f3e4d5c-6b7a-4988-a7b6-c5d4e3f2a1b0"),
                "created_by_ref": CENTRE,
                "relationship_type": "indicates",
                "source_ref": INDICATOR,
                "target_ref": TECHNIQUE,
            },
        ]
    if steps >= 3 and marking is not None:
        for one in objects:
            one["object_marking_refs"] = [marking]
        if marking == TLP2_AMBER:
            objects.append(AMBER_DEFINITION)
    return {
        "type": "bundle",
        "id": "bundle--7d6c5b4a-3928-4716-a5f4-e3d2c1b0a998",
        "objects": objects,
    }


def write_command(data: dict, path: str = "~/bundle.json") -> str:
    """A shell command that writes ``data`` as JSON to ``path``."""
    return f"printf '%s\\n' {shlex.quote(json.dumps(data, indent=2))} > {path}"
