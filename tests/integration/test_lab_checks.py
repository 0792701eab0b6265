"""Every check task of every shipped lab on the real engine, run as the platform runs it
(as the container's user unless the lab says `as: root`):

(a) it fails on a fresh start,
(b) it fails when the answer is a symbolic link to an answer file of the image, or to a
    copy of the right answer that only root can read,
(c) it passes with the intended solution, also after the trainee made their home private.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.docker

FLAG = "FLAG{check-tasks}"
AUTH_LOG = "/var/log/auth.log"
TOP_FAILING_IP = (
    f"grep 'Failed password' {AUTH_LOG} | grep -o 'from [0-9.]*' | sort | uniq -c "
    "| sort -n | tail -1 | awk '{print $3}'"
)


@dataclass(frozen=True)
class Solution:
    """How a trainee solves one check task: ``solve`` (a shell command run as ``user``)
    leaves ``path``, which the check then reads."""

    task: str
    path: str
    solve: str
    user: str = "trainee"


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
}


def test_every_check_task_of_every_shipped_lab_has_a_solution_here(shipped_labs):
    checks = {
        (slug, task.id)
        for slug, spec in shipped_labs.items()
        for task in spec.tasks
        if task.type == "check"
    }
    assert checks == {(slug, s.task) for slug, found in SOLUTIONS.items() for s in found}


@pytest.mark.parametrize("slug", sorted(SOLUTIONS))
def test_check_tasks_cannot_be_fooled(slug, docker_runtime, lab_session, lab_exec, shipped_labs):
    spec = shipped_labs[slug]
    key = lab_session(spec, FLAG).session_key

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
        where, path, user = task.container, shlex.quote(solution.path), solution.user
        assert not passed(task.id), f"{task.id} passes on a fresh start"

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
