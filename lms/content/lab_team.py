"""Parsing what a team lab (``mode: team``) adds to lab.yaml: its ``roles`` (each with a
workstation of its own) and its ``injects`` (events an exercise fires into the team's lab).
A solo lab may use neither."""

from __future__ import annotations

from typing import Any

from lms.content.lab_model import (
    INJECT_FILE_KEYS,
    INJECT_KEYS,
    INJECT_RUN_KEYS,
    INJECT_USERS,
    MAX_CHECK_SECONDS,
    MAX_INJECT_MINUTE,
    MAX_ROLES,
    NAME_RE,
    ROLE_KEYS,
    TASK_ID_RE,
    InjectCommand,
    InjectFile,
    InjectSpec,
    RoleSpec,
)

TEAM_ONLY = "only for team labs (add mode: team)"


class TeamSection:
    """``roles:`` and ``injects:`` (mixed into the parser: ``doc``, ``mode``, ``containers``
    and the value readers come from it)."""

    # -- roles ---------------------------------------------------------------

    def _roles(self, value: Any) -> dict[str, RoleSpec]:
        if self.mode != "team":
            if value is not None:
                self.doc.error(("roles",), f"roles: is {TEAM_ONLY}")
            return {}
        data = self._mapping(value, ("roles",), "roles")
        if not data or len(data) > MAX_ROLES:
            self.doc.error(
                ("roles",),
                f"roles: a team lab needs 1 to {MAX_ROLES} roles, each with a title "
                "and a workstation",
            )
            if not data:
                return {}
        roles: dict[str, RoleSpec] = {}
        for name, body in data.items():
            role = self._role(name, body)
            if role is None:
                continue
            owner = next((r for r in roles.values() if r.workstation == role.workstation), None)
            if owner is not None:
                self.doc.error(
                    ("roles", name, "workstation"),
                    f"role {name}: workstation {role.workstation!r} is already role "
                    f"{owner.name}'s; each role needs a workstation of its own",
                )
            roles[name] = role
        return roles

    def _role(self, name: Any, body: Any) -> RoleSpec | None:
        path = ("roles", name)
        if not isinstance(name, str) or not NAME_RE.match(name):
            self.doc.error(
                path,
                f"role name {name!r} must be lowercase letters, digits, '-', "
                "starting with a letter (like a container's)",
            )
            return None
        data = self._mapping(body, path, f"role {name}") or {}
        self._unknown_keys(data, path, ROLE_KEYS)
        title = self._text(data, "title", path)
        if not title:
            self.doc.error(path, f"role {name}: title: is required")
        workstation = data.get("workstation")
        if workstation is None:
            self.doc.error(
                path, f"role {name}: workstation: is required (the container its members use)"
            )
        elif not isinstance(workstation, str) or workstation not in self.containers:
            names = ", ".join(self.containers) or "none"
            self.doc.error(
                (*path, "workstation"),
                f"role {name}: workstation {workstation!r} is not a container of this lab "
                f"({names})",
            )
        return RoleSpec(
            name=name,
            title=title or name,
            workstation=str(workstation),
            description=self._text(data, "description", path) or "",
        )

    # -- injects -------------------------------------------------------------

    def _injects(self, value: Any) -> tuple[InjectSpec, ...]:
        if value is None:
            return ()
        if self.mode != "team":
            self.doc.error(("injects",), f"injects: is {TEAM_ONLY}")
            return ()
        if not isinstance(value, list):
            self.doc.error(("injects",), "injects must be a list")
            return ()
        injects, seen = [], set()
        for index, body in enumerate(value):
            inject = self._inject(index, body)
            if inject is None:
                continue
            if inject.id in seen:
                self.doc.error(("injects", index, "id"), f"duplicate inject id {inject.id!r}")
            seen.add(inject.id)
            injects.append(inject)
        return tuple(injects)

    def _inject(self, index: int, body: Any) -> InjectSpec | None:
        path = ("injects", index)
        data = self._mapping(body, path, f"inject {index + 1}")
        if data is None:
            self.doc.error(path, f"inject {index + 1} must be a mapping with id, title, message")
            return None
        self._unknown_keys(data, path, INJECT_KEYS)
        inject_id = self._text(data, "id", path, required=True) or f"inject-{index + 1}"
        if not TASK_ID_RE.match(inject_id):
            self.doc.error(
                (*path, "id"),
                f"inject id {inject_id!r} must be lowercase letters, digits, '-' or '_'",
            )
        message = self._text(data, "message", path)
        if not message:
            self.doc.error(path, f"inject {inject_id}: message: is required (what the team reads)")
        return InjectSpec(
            id=inject_id,
            title=self._text(data, "title", path, required=True) or inject_id,
            message=message or "",
            at_minute=self._at_minute(data, path, inject_id),
            run=self._inject_command(data.get("run"), (*path, "run"), inject_id),
            file=self._inject_file(data.get("file"), (*path, "file"), inject_id),
        )

    def _at_minute(self, data: dict, path: tuple, inject_id: str) -> int | None:
        if "at" not in data:
            return None  # fired by hand only
        value = data["at"]
        if isinstance(value, bool) or not isinstance(value, int):
            value = -1
        if not 0 <= value <= MAX_INJECT_MINUTE:
            self.doc.error(
                (*path, "at"),
                f"inject {inject_id}: at: {data['at']!r} is not a minute of the exercise "
                f"from 0 to {MAX_INJECT_MINUTE}",
            )
            return None
        return value

    def _inject_container(self, data: dict, path: tuple, inject_id: str) -> str:
        value = data.get("container")
        if value is None:
            self.doc.error(path, f"inject {inject_id}: {path[-1]}.container: is required")
        elif not isinstance(value, str) or value not in self.containers:
            names = ", ".join(self.containers) or "none"
            self.doc.error(
                (*path, "container"),
                f"inject {inject_id}: container {value!r} is not a container of this lab ({names})",
            )
        return str(value)

    def _inject_command(self, value: Any, path: tuple, inject_id: str) -> InjectCommand | None:
        data = self._mapping(value, path, f"inject {inject_id}: run")
        if data is None:
            return None
        self._unknown_keys(data, path, INJECT_RUN_KEYS)
        container = self._inject_container(data, path, inject_id)
        command = self._text(data, "command", path)
        if not command:
            self.doc.error(path, f"inject {inject_id}: run.command: is required")
        run_as = data.get("as", "root")
        if run_as not in INJECT_USERS:
            self.doc.error(
                (*path, "as"),
                f"inject {inject_id}: run.as: {run_as!r} is not root or user (root, the "
                "default, runs the command as root; user as the container's user)",
            )
        return InjectCommand(
            container=container,
            command=command or "true",
            as_root=run_as != "user",
            timeout_seconds=self._int(data, "timeout_seconds", path, 30, 1, MAX_CHECK_SECONDS),
        )

    def _inject_file(self, value: Any, path: tuple, inject_id: str) -> InjectFile | None:
        data = self._mapping(value, path, f"inject {inject_id}: file")
        if data is None:
            return None
        self._unknown_keys(data, path, INJECT_FILE_KEYS)
        container = self._inject_container(data, path, inject_id)
        file_path = data.get("path")
        if (
            not isinstance(file_path, str)
            or not file_path.startswith("/")
            or file_path.endswith("/")
        ):
            self.doc.error(
                (*path, "path") if "path" in data else path,
                f"inject {inject_id}: file.path: {file_path!r} must be an absolute file path",
            )
        content = data.get("content")
        if not isinstance(content, str):
            self.doc.error(
                (*path, "content") if "content" in data else path,
                f"inject {inject_id}: file.content: is required (the file's text)",
            )
        return InjectFile(
            container=container,
            path=str(file_path),
            content=content if isinstance(content, str) else "",
            mode=self._octal_mode(data, path, 0o444),
        )
