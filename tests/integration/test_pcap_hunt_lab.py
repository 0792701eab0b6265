"""The pcap-hunt lab (network-traffic-analysis, module 5) on the real engine: the
captures made at build time are read-only and hold what the course's commands find,
near misses fail their checks and harmless variants of the right answer pass.
(test_lab_checks.py solves every task with the course's tshark commands.)"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.docker

DMZ, WORKSTATION = "~/captures/dmz.pcap", "~/captures/workstation.pcap"

# task -> answers a trainee could plausibly give that are wrong, with why.
NEAR_MISSES = {
    "scanner-ip": [
        "echo 172.16.20.10 > ~/answer-scanner.txt",  # the scanned server
        "echo 203.0.113.9 > ~/answer-scanner.txt",  # an ordinary visitor
    ],
    "scanner-traffic": [
        # one direction only: the server's answers are missing
        f"tcpdump -r {DMZ} -w ~/scanner.pcap 'src host 203.0.113.66'",
        # only the scan, without the sign-in that followed
        f"tcpdump -r {DMZ} -w ~/scanner.pcap 'host 203.0.113.66 and not port 80'",
    ],
    "open-ports": [
        "echo 22,80,443 > ~/answer-open-ports.txt",  # the database port missed
        "echo 80,443,22,3306 > ~/answer-open-ports.txt",  # not in ascending order
        "echo 4 > ~/answer-open-ports.txt",  # how many, not which
    ],
    "admin-password": [
        "echo webadmin > ~/answer-password.txt",  # the user name
        "echo 'password=Harbour-Lights-2026' > ~/answer-password.txt",
    ],
    "c2-domain": [
        "echo 198.51.100.77 > ~/answer-c2-domain.txt",  # its address, not its name
        "echo statuspulse.example > ~/answer-c2-domain.txt",
    ],
    "beacon-interval": [
        "echo 60 > ~/answer-interval.txt",
        "echo 43.29 > ~/answer-interval.txt",  # one gap, not the average
    ],
    "exfil-file": [
        "echo up.filesync-cache.example > ~/answer-exfil-file.txt",  # the tunnel's domain
        "echo onqwyylsnfsxgljsgazdmllrgmxgg43w > ~/answer-exfil-file.txt",  # still encoded
    ],
}
ACCEPTED = {
    "scanner-traffic": [f"tshark -r {DMZ} -Y 'ip.addr == 203.0.113.66' -w ~/scanner.pcap"],
    "open-ports": ["printf '22, 80, 443, 3306\\n' > ~/answer-open-ports.txt"],
    "c2-domain": ["echo ' CDN.StatusPulse.example' > ~/answer-c2-domain.txt"],
    "beacon-interval": ["echo 45.05 > ~/answer-interval.txt", "echo 45 > ~/answer-interval.txt"],
}


def test_pcap_hunt_refuses_near_misses(docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs["pcap-hunt"]
    key = lab_session(spec).session_key

    def sh(command: str) -> str:
        code, output = lab_exec(key, "main", command)
        assert code == 0, (command, output)
        return output

    def passed(task_id: str) -> bool:
        task = spec.task(task_id)
        result = docker_runtime.run_check(
            key, task.container, task.run, task.timeout_seconds, user=spec.check_user(task)
        )
        return result.passed

    assert lab_exec(key, "main", f"test -w {DMZ} || test -w ~/captures")[0] != 0
    # the course's first look: one source opened over a thousand connections (the scan, its
    # three retries and the five HTTP requests that followed)
    top = sh(
        f"tshark -r {DMZ} -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields -e ip.src "
        "| sort | uniq -c | sort -n | tail -1"
    ).split()
    assert top == ["1041", "203.0.113.66"]

    for task_id, misses in NEAR_MISSES.items():
        for command in misses:
            sh(f"rm -f ~/scanner.pcap; {command}")
            assert not passed(task_id), f"{task_id} passes with: {command}"
        for command in ACCEPTED.get(task_id, []):
            sh(f"rm -f ~/scanner.pcap; {command}")
            assert passed(task_id), f"{task_id} fails with: {command}"
