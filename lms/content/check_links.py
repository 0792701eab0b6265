"""A heuristic for check commands that can be fooled with a symbolic link.

A check that reads ``~/answer.txt`` follows whatever link the trainee put
there. As the container's user that reads only what the trainee could read
anyway; as root (``as: root``), or whenever an answer file is readable by the
check, a link to the lab's own answer passes the task. ``lms courses check``
warns about every path the trainee can write (their home, the temporary
folders) that a check command names without a link test on that same path.
"""

from __future__ import annotations

import re

# Places a trainee can write in every lab: homes and the world-writable folders.
TRAINEE_WRITABLE = (r"~", r"\$\{?HOME\}?", r"/home/[^/\s\"']+", "/tmp", "/var/tmp", "/dev/shm")  # noqa: S108
GUARD = r"(?:-[Lh]|realpath(?:\s+-\S+)*|readlink(?:\s+-\S+)*)\s+[\"']?{path}[\"']?(?=[\s;&|)\]]|$)"


def _path_pattern(roots: list[str]) -> re.Pattern:
    """A path below one of ``roots`` (at least one component deeper), as a shell word."""
    alternatives = "|".join(roots)
    return re.compile(rf"(?<![\w/.~$-])((?:{alternatives})(?:/[^\s\"'<>|;&()`$\]]+)+)")


def unguarded_trainee_paths(command: str, workdir: str | None = None) -> list[str]:
    """Trainee-writable paths the command names without testing them for a link
    (``test ! -L P``, ``[ ! -h P ]``, ``realpath P``, ``readlink P``), in order of
    appearance. ``workdir`` (the container's, when not ``/``) counts as writable too."""
    roots = list(TRAINEE_WRITABLE)
    if workdir and workdir.rstrip("/"):
        roots.insert(0, re.escape(workdir.rstrip("/")))
    found: list[str] = []
    for match in _path_pattern(roots).finditer(command):
        path = match.group(1).rstrip("/.")
        if path in found:
            continue
        if not re.search(GUARD.format(path=re.escape(path)), command):
            found.append(path)
    return found
