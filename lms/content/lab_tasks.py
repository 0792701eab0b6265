"""Parsing the tasks of lab.yaml: flag and check tasks, who a check runs as, and the
warnings about checks a symbolic link could fool."""

from __future__ import annotations

from typing import Any

from lms.content.check_links import unguarded_trainee_paths
from lms.content.issues import ContentIssue
from lms.content.lab_model import (
    CHECK_USERS,
    MAX_CHECK_SECONDS,
    TASK_ID_RE,
    TASK_KEYS,
    FlagSpec,
    TaskSpec,
)


class TaskSection:
    """The ``tasks:`` of lab.yaml (mixed into the parser: ``doc``, ``containers`` and the
    value readers come from it)."""

    def _tasks(self, value: Any, workstation: str, flag: FlagSpec | None) -> tuple[TaskSpec, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.doc.error(("tasks",), "tasks must be a list")
            return ()
        tasks, seen = [], set()
        for index, body in enumerate(value):
            task = self._task(index, body, workstation, flag)
            if task is None:
                continue
            if task.id in seen:
                self.doc.error(("tasks", index, "id"), f"duplicate task id {task.id!r}")
            seen.add(task.id)
            tasks.append(task)
        return tuple(tasks)

    def _task(self, index: int, body: Any, workstation: str, flag: FlagSpec | None):
        path = ("tasks", index)
        data = self._mapping(body, path, f"task {index + 1}")
        if data is None:
            self.doc.error(path, f"task {index + 1} must be a mapping with id, title, type")
            return None
        self._unknown_keys(data, path, TASK_KEYS)
        task_id = self._text(data, "id", path, required=True) or f"task-{index + 1}"
        if not TASK_ID_RE.match(task_id):
            self.doc.error(
                (*path, "id"), f"task id {task_id!r} must be lowercase letters, digits, '-' or '_'"
            )
        kind = data.get("type", "check" if "run" in data else "flag")
        if kind == "check":
            self._check_task(data, path, task_id)
        elif kind == "flag":
            self._flag_task(data, path, task_id, flag)
        else:
            self.doc.error((*path, "type"), f"task {task_id}: type {kind!r} is not flag or check")
        points = self._int(data, "points", path, 10, 0, 10_000)
        hint = self._text(data, "hint", path)
        role = self._task_role(data, path, task_id)
        if role is not None:
            workstation = self.roles[role].workstation  # a role's checks run on its workstation
        return TaskSpec(
            id=task_id,
            title=self._text(data, "title", path, required=True) or task_id,
            type=str(kind),
            points=points,
            hint=hint,
            penalty=self._penalty(data, path, task_id, points, hint),
            container=self._known_container(
                data.get("container"), (*path, "container"), workstation
            ),
            run=self._text(data, "run", path),
            timeout_seconds=self._int(data, "timeout_seconds", path, 20, 1, MAX_CHECK_SECONDS),
            run_as=self._run_as(data, path, task_id, kind),
            role=role,
        )

    def _task_role(self, data: dict, path: tuple, task_id: str) -> str | None:
        """A team lab's task may name the role that owns it (default: the whole team)."""
        if "role" not in data:
            return None
        value = data["role"]
        if self.mode != "team":
            self.doc.error(
                (*path, "role"), f"task {task_id}: role: is only for team labs (add mode: team)"
            )
            return None
        if not isinstance(value, str) or value not in self.roles:
            names = ", ".join(self.roles) or "none"
            self.doc.error(
                (*path, "role"),
                f"task {task_id}: role {value!r} is not a role of this lab ({names})",
            )
            return None
        return value

    def _penalty(self, data: dict, path: tuple, task_id: str, points: int, hint) -> int:
        """What revealing the hint costs: at most the task's own points."""
        if "penalty" not in data:
            return 0
        value = data["penalty"]
        if not hint:
            self.doc.error((*path, "penalty"), f"task {task_id}: penalty: needs a hint: to cost")
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= points:
            self.doc.error(
                (*path, "penalty"),
                f"task {task_id}: penalty must be a whole number from 0 to the task's "
                f"points ({points}): a hint cannot cost more than the task is worth",
            )
            return 0
        return value

    def _run_as(self, data: dict, path: tuple, task_id: str, kind: Any) -> str:
        if "as" not in data:
            return "user"
        value = data["as"]
        if kind != "check":
            self.doc.error((*path, "as"), f"task {task_id}: as: is only for check tasks")
        elif value not in CHECK_USERS:
            self.doc.error(
                (*path, "as"),
                f"task {task_id}: as: {value!r} is not user or root (user, the default, "
                "runs the check as the container's user: it sees what the trainee sees)",
            )
        return "root" if value == "root" else "user"

    def _link_warnings(self, tasks: tuple[TaskSpec, ...]) -> list[ContentIssue]:
        warnings = []
        for index, task in enumerate(tasks):
            if task.type != "check" or not task.run:
                continue
            container = self.containers.get(task.container or "")
            home = container.workdir if container else None
            for target in unguarded_trainee_paths(task.run, home):
                who = "as root, " if task.run_as == "root" else ""
                warnings.append(
                    ContentIssue(
                        str(self.doc.path),
                        self.doc.line(("tasks", index, "run")),
                        f"warning: task {task.id}: the check {who}reads {target}, which the "
                        "trainee can write, without guarding against links; a link there "
                        "can point at the answer. Add `test ! -L "
                        f"{target} &&` before reading it (or compare its `realpath`).",
                    )
                )
        return warnings

    def _check_task(self, data: dict, path: tuple, task_id: str) -> None:
        if not data.get("run"):
            self.doc.error(
                path,
                f"task {task_id}: a check task needs run: (a shell command "
                "that exits 0 when the task is done)",
            )

    def _flag_task(self, data: dict, path: tuple, task_id: str, flag: FlagSpec | None) -> None:
        if flag is None:
            self.doc.error(path, f"task {task_id}: a flag task needs a flag: section in lab.yaml")
        if data.get("run"):
            self.doc.error((*path, "run"), f"task {task_id}: run: is only for check tasks")
