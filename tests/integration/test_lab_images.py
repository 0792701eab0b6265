"""What the lab images carry: no setuid or setgid program but those a lab installs on
purpose (the platform's Debian base has none), and manual pages (courses teach `man`)."""

from __future__ import annotations

import pytest

from lms.labs.runtime import get_image_builder

pytestmark = pytest.mark.docker

BASE_IMAGE = "lms-base/debian:bookworm"
# The setuid/setgid programs each lab installs on purpose; every other lab: none.
DEBIAN_SETUID = {
    f"/usr/bin/{name}"
    for name in ("passwd", "chsh", "chfn", "gpasswd", "newgrp", "su", "mount", "umount")
}
INTENDED = {"suid-hunt": DEBIAN_SETUID | {"/usr/local/bin/logview"}}
FIND_PRIVILEGED = "find / -xdev -type f -perm /6000 2>/dev/null; true"


def run_in(docker_client, image: str, script: str) -> str:
    """Output of a throw-away container (removed afterwards) without a network."""
    output = docker_client.containers.run(
        image, ["sh", "-c", script], remove=True, network_disabled=True, user="0"
    )
    return output.decode("utf-8", "replace")


def test_the_base_image_has_no_setuid_programs_and_keeps_manual_pages(docker_client):
    assert run_in(docker_client, BASE_IMAGE, FIND_PRIVILEGED).split() == []
    assert "/usr/share/man/man1/ls.1" in run_in(docker_client, BASE_IMAGE, "man -w ls")


def test_lab_images_carry_only_the_setuid_programs_the_lab_installs(
    docker_client, docker_runtime, shipped_labs
):
    found = {}
    for slug, spec in shipped_labs.items():
        for name, image in get_image_builder().image_tags(spec).items():
            privileged = set(run_in(docker_client, image, FIND_PRIVILEGED).split())
            if privileged:
                found[f"{slug}/{name}"] = privileged
    assert found == {f"{slug}/main": programs for slug, programs in INTENDED.items()}


def test_man_works_in_the_shell_lab(docker_client, docker_runtime, shipped_labs):
    [image] = get_image_builder().image_tags(shipped_labs["shell-basics"]).values()
    page = run_in(docker_client, image, "MANPAGER=cat man ls 2>&1")
    assert "list directory contents" in page
