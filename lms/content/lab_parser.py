"""Parse and validate ``labs/<slug>/lab.yaml`` into a ``LabSpec`` (docs/lab-format.md).

``load_lab`` returns a frozen ``LabSpec`` or raises ``LabSpecError`` carrying
every problem found, each with the file and line, so an instructor fixes a lab
in one pass. The runtime and the services only ever see a valid ``LabSpec``.

Over 400 lines on purpose: one walk over one document, whose methods share its line map
and the containers read so far; each section (limits, containers, flag, tasks) is a few
short methods, and lab_model.py holds what they build.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lms.content.check_links import unguarded_trainee_paths
from lms.content.issues import ContentIssue
from lms.content.lab_model import (
    CAPABILITIES,
    CHECK_USERS,
    CONTAINER_KEYS,
    FLAG_KEYS,
    HASH_SKIP,
    LAB_CAPABILITIES,
    LAB_FILE,
    LIMIT_KEYS,
    MAX_CHECK_SECONDS,
    MIN_MEMORY,
    NAME_RE,
    NETWORK_MODES,
    SLUG_RE,
    TASK_ID_RE,
    TASK_KEYS,
    TOP_KEYS,
    ContainerSpec,
    FlagSpec,
    LabSpec,
    LabSpecError,
    Limits,
    TaskSpec,
    format_size,
    parse_size,
)


def load_labs(
    labs_dir: str | Path, max_limits: Limits | None = None
) -> tuple[dict[str, LabSpec], list[ContentIssue]]:
    """Load every folder with a lab.yaml under ``labs_dir``: valid labs by slug, and all
    issues found (a lab with issues is left out of the dict)."""
    labs: dict[str, LabSpec] = {}
    issues: list[ContentIssue] = []
    root = Path(labs_dir)
    if not root.is_dir():
        return labs, [ContentIssue(str(root), None, "labs folder not found")]
    for folder in sorted(p for p in root.iterdir() if (p / LAB_FILE).is_file()):
        try:
            labs[folder.name] = load_lab(folder, max_limits)
        except LabSpecError as exc:
            issues.extend(exc.errors)
    return labs, issues


def load_lab(folder: str | Path, max_limits: Limits | None = None) -> LabSpec:
    """Parse and validate one lab folder; raise LabSpecError with every problem."""
    folder = Path(folder)
    doc = _Document(folder / LAB_FILE)
    spec = _LabParser(folder, doc, max_limits).parse()
    if doc.issues or spec is None:
        raise LabSpecError(doc.issues)
    return spec


def content_hash(folder: Path, build_dirs: list[str]) -> str:
    """sha256 over lab.yaml and every file of the build folders, in sorted path order
    (byte-code caches and VCS folders left out: they do not change an image)."""
    files = {folder / LAB_FILE}
    for build in build_dirs:
        files.update(
            p
            for p in (folder / build).rglob("*")
            if p.is_file() and not HASH_SKIP.intersection(p.relative_to(folder).parts)
        )
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class _Document:
    """lab.yaml parsed twice: plain values, and a key path -> line map for messages."""

    def __init__(self, path: Path):
        self.path = path
        self.issues: list[ContentIssue] = []
        self.lines: dict[tuple, int] = {}
        self.scalars: dict[tuple, str] = {}
        self.data: Any = None
        self._read()

    def _read(self) -> None:
        if not self.path.is_file():
            self.error((), f"{LAB_FILE} not found")
            return
        try:
            text = self.path.read_text(encoding="utf-8")
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            self.data = yaml.safe_load(text)
        except UnicodeDecodeError:
            self.error((), "not UTF-8 text")
            return
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark else None
            problem = f"invalid YAML: {_yaml_problem(exc)}"
            self.issues.append(ContentIssue(str(self.path), line, problem))
            return
        if node is not None:
            self._map_lines(node, ())

    def _map_lines(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            self.scalars[path] = node.value
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, key.value)
                self._map_lines(value, child)
                self.lines[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._map_lines(item, (*path, index))

    def line(self, path: tuple) -> int | None:
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path)

    def error(self, path: tuple, message: str) -> None:
        self.issues.append(ContentIssue(str(self.path), self.line(path), message))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).strip()


@dataclass
class _LabParser:
    """Walks the plain data of lab.yaml, reporting problems through the document."""

    folder: Path
    doc: _Document
    max_limits: Limits | None
    containers: dict[str, ContainerSpec] = field(default_factory=dict)

    def parse(self) -> LabSpec | None:
        data = self.doc.data
        if self.doc.issues:
            return None
        if not isinstance(data, dict):
            self.doc.error((), "lab.yaml must be a mapping of keys (title, tasks, ...)")
            return None
        self._unknown_keys(data, (), TOP_KEYS)
        slug = self.folder.resolve().name
        if not SLUG_RE.match(slug):
            self.doc.error((), f"lab folder name {slug!r} must be lowercase letters, digits, '-'")
        title = self._text(data, "title", required=True)
        ttl, max_minutes = self._durations(data)
        limits = self._limits(data.get("limits"))
        network = self._choice(data, "network", NETWORK_MODES, "isolated")
        self.containers = self._containers(data.get("containers"))
        workstation = self._workstation(data.get("workstation"))
        if network == "none" and len(self.containers) > 1:
            self.doc.error(("network",), "network: none allows one container only")
        flag = self._flag(data.get("flag"), workstation)
        tasks = self._tasks(data.get("tasks"), workstation, flag)
        if self.doc.issues:
            return None
        builds = [c.build for c in self.containers.values() if c.build]
        return LabSpec(
            slug=slug,
            title=title,
            description=self._text(data, "description") or "",
            ttl_minutes=ttl,
            max_minutes=max_minutes,
            limits=limits,
            network=network,
            workstation=workstation,
            containers=self.containers,
            flag=flag,
            tasks=tasks,
            folder=self.folder,
            content_hash=content_hash(self.folder, builds),
            warnings=tuple(self._link_warnings(tasks)),
        )

    # -- generic helpers -------------------------------------------------

    def _unknown_keys(self, data: dict, path: tuple, allowed: set[str]) -> None:
        for key in data:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                self.doc.error((*path, key), f"unknown key {key!r} (known: {known})")

    def _mapping(self, value: Any, path: tuple, what: str) -> dict | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.doc.error(path, f"{what} must be a mapping")
            return None
        return value

    def _text(self, data: dict, key: str, path: tuple = (), required: bool = False) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.doc.error(path or (), f"{_dotted(path, key)} is required")
            return None
        if not isinstance(value, str):
            self.doc.error((*path, key), f"{_dotted(path, key)} must be text")
            return None
        return value.strip()

    def _int(self, data: dict, key: str, path: tuple, default: int, low: int, high: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.doc.error(
                (*path, key),
                f"{_dotted(path, key)}: {value!r} is not a whole number from {low} to {high}",
            )
            return default
        return value

    def _choice(self, data: dict, key: str, choices: tuple, default: str) -> str:
        value = data.get(key, default)
        if value not in choices:
            self.doc.error((key,), f"{key}: {value!r} is not one of {', '.join(choices)}")
            return default
        return value

    # -- sections ----------------------------------------------------------

    def _durations(self, data: dict) -> tuple[int, int]:
        ttl = self._int(data, "ttl_minutes", (), 60, 1, 24 * 60)
        max_minutes = self._int(data, "max_minutes", (), max(180, ttl), 1, 7 * 24 * 60)
        if max_minutes < ttl:
            self.doc.error(
                ("max_minutes",), f"max_minutes ({max_minutes}) is below ttl_minutes ({ttl})"
            )
        return ttl, max_minutes

    def _limits(self, value: Any) -> Limits:
        data = self._mapping(value, ("limits",), "limits") or {}
        self._unknown_keys(data, ("limits",), LIMIT_KEYS)
        default = Limits()
        memory = parse_size(data.get("memory", "256m"))
        if memory is None or memory < MIN_MEMORY:
            self.doc.error(
                ("limits", "memory"),
                f"memory: {data.get('memory')} is not a size like 256m (at least 16m)",
            )
            memory = default.memory_bytes
        cpus = data.get("cpus", default.cpus)
        if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not 0 < cpus <= 64:
            self.doc.error(("limits", "cpus"), f"cpus: {cpus!r} is not a number of CPUs like 0.5")
            cpus = default.cpus
        pids = self._int(data, "pids", ("limits",), default.pids, 8, 100_000)
        limits = Limits(memory_bytes=memory, cpus=float(cpus), pids=pids)
        self._check_maximums(limits)
        return limits

    def _check_maximums(self, limits: Limits) -> None:
        top = self.max_limits
        if top is None:
            return
        if limits.memory_bytes > top.memory_bytes:
            self.doc.error(
                ("limits", "memory"),
                f"memory: {format_size(limits.memory_bytes)} is "
                f"above the platform maximum of {format_size(top.memory_bytes)}",
            )
        if limits.cpus > top.cpus:
            self.doc.error(
                ("limits", "cpus"),
                f"cpus: {limits.cpus:g} is above the platform maximum of {top.cpus:g}",
            )
        if limits.pids > top.pids:
            self.doc.error(
                ("limits", "pids"),
                f"pids: {limits.pids} is above the platform maximum of {top.pids}",
            )

    def _containers(self, value: Any) -> dict[str, ContainerSpec]:
        if value is None:
            return {"main": self._container("main", {"build": "."})}
        data = self._mapping(value, ("containers",), "containers")
        if not data:
            if data is not None:
                self.doc.error(("containers",), "containers: name at least one container")
            return {}
        found = {}
        for name, body in data.items():
            path = ("containers", name)
            if not isinstance(name, str) or not NAME_RE.match(name):
                self.doc.error(
                    path,
                    f"container name {name!r} must be lowercase letters, "
                    "digits, '-', starting with a letter",
                )
                continue
            found[name] = self._container(name, self._mapping(body, path, name) or {})
        return found

    def _container(self, name: str, data: dict) -> ContainerSpec:
        path = ("containers", name)
        self._unknown_keys(data, path, CONTAINER_KEYS)
        build = self._text(data, "build", path)
        image = self._text(data, "image", path)
        if build and image:
            self.doc.error(path, f"container {name}: give build or image, not both")
        elif not build and not image:
            self.doc.error(path, f"container {name}: needs build (a folder) or image")
        if build:
            self._check_build_dir(build, (*path, "build"))
        setuid = data.get("setuid", False)
        if not isinstance(setuid, bool):
            self.doc.error((*path, "setuid"), "setuid must be true or false")
        return ContainerSpec(
            name=name,
            build=build,
            image=image,
            user=self._text(data, "user", path),
            workdir=self._workdir(data, path),
            capabilities=self._capabilities(data, path),
            setuid=setuid is True,
            ports=self._ports(data, path),
        )

    def _check_build_dir(self, build: str, path: tuple) -> None:
        lab_root = self.folder.resolve()
        target = (self.folder / build).resolve()
        if target != lab_root and lab_root not in target.parents:
            self.doc.error(path, f"build: {build} is outside the lab folder")
        elif not target.is_dir():
            self.doc.error(path, f"build: folder {build} not found")
        elif not (target / "Dockerfile").is_file():
            self.doc.error(path, f"build: folder {build} has no Dockerfile")

    def _workdir(self, data: dict, path: tuple) -> str | None:
        workdir = self._text(data, "workdir", path)
        if workdir and not workdir.startswith("/"):
            self.doc.error((*path, "workdir"), f"workdir: {workdir} must be an absolute path")
        return workdir

    def _capabilities(self, data: dict, path: tuple) -> tuple[str, ...]:
        value = data.get("capabilities") or []
        if not isinstance(value, list):
            self.doc.error((*path, "capabilities"), "capabilities must be a list like [NET_RAW]")
            return ()
        caps = []
        for index, cap in enumerate(value):
            name = str(cap).upper().removeprefix("CAP_")
            if name not in CAPABILITIES:
                self.doc.error((*path, "capabilities", index), f"unknown capability {cap!r}")
            elif name not in LAB_CAPABILITIES:
                self.doc.error(
                    (*path, "capabilities", index),
                    f"capability {name} is not allowed in labs: it reaches the host kernel",
                )
            elif name not in caps:
                caps.append(name)
        return tuple(caps)

    def _ports(self, data: dict, path: tuple) -> tuple[int, ...]:
        value = data.get("ports") or []
        if not isinstance(value, list):
            self.doc.error((*path, "ports"), "ports must be a list of port numbers like [8080]")
            return ()
        ports = []
        for index, port in enumerate(value):
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                self.doc.error(
                    (*path, "ports", index), f"port {port!r} is not an integer from 1 to 65535"
                )
            elif port not in ports:
                ports.append(port)
        return tuple(ports)

    def _workstation(self, value: Any) -> str:
        names = list(self.containers)
        if value is None:
            if "main" in self.containers or len(names) == 1:
                return "main" if "main" in self.containers else names[0]
            if names:
                self.doc.error(
                    ("containers",),
                    "workstation: required when there are several "
                    "containers and none is called main",
                )
            return "main"
        if value not in self.containers:
            self.doc.error(
                ("workstation",),
                f"workstation: {value!r} is not a container of "
                f"this lab ({', '.join(names) or 'none'})",
            )
        return str(value)

    def _known_container(self, value: Any, path: tuple, workstation: str) -> str:
        if value is None:
            return workstation
        if value not in self.containers:
            names = ", ".join(self.containers) or "none"
            self.doc.error(path, f"container {value!r} is not a container of this lab ({names})")
        return str(value)

    def _flag(self, value: Any, workstation: str) -> FlagSpec | None:
        data = self._mapping(value, ("flag",), "flag")
        if data is None:
            return None
        self._unknown_keys(data, ("flag",), FLAG_KEYS)
        container = self._known_container(data.get("container"), ("flag", "container"), workstation)
        path = self._text(data, "path", ("flag",), required=True) or "/flag.txt"
        if not path.startswith("/") or path.endswith("/"):
            self.doc.error(("flag", "path"), f"flag.path: {path} must be an absolute file path")
        return FlagSpec(
            container=container,
            path=path,
            mode=self._mode(data),
            uid=self._owner_id(data, "uid"),
            gid=self._owner_id(data, "gid"),
        )

    def _owner_id(self, data: dict, key: str) -> int | None:
        """``flag.uid``/``flag.gid`` when given (by default the container's user owns it)."""
        if key not in data:
            return None
        return self._int(data, key, ("flag",), 0, 0, 2**31 - 1)

    def _mode(self, data: dict) -> int:
        """File mode, read as octal from the YAML text: 400, 0400, "0440" and 0o440 all work."""
        if "mode" not in data:
            return 0o400
        raw = self._raw_scalar(("flag", "mode"))
        digits = raw.lower().removeprefix("0o").lstrip("0") or "0"
        if not re.fullmatch(r"[0-7]{1,4}", digits):
            self.doc.error(
                ("flag", "mode"), f"flag.mode: {raw} is not an octal file mode like 0400"
            )
            return 0o400
        return int(digits, 8)

    def _raw_scalar(self, path: tuple) -> str:
        """The scalar's text as written in lab.yaml (YAML 1.1 reads 0400 as 256)."""
        return self.doc.scalars.get(path, "")

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
        return TaskSpec(
            id=task_id,
            title=self._text(data, "title", path, required=True) or task_id,
            type=str(kind),
            points=self._int(data, "points", path, 10, 0, 10_000),
            hint=self._text(data, "hint", path),
            container=self._known_container(
                data.get("container"), (*path, "container"), workstation
            ),
            run=self._text(data, "run", path),
            timeout_seconds=self._int(data, "timeout_seconds", path, 20, 1, MAX_CHECK_SECONDS),
            run_as=self._run_as(data, path, task_id, kind),
        )

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


def _dotted(path: tuple, key: str) -> str:
    names = [p for p in path if isinstance(p, str) and p not in ("containers", "tasks")]
    return ".".join([*names, key]) if names and names[0] in ("flag", "limits") else key
