"""Parse and validate ``labs/<slug>/lab.yaml`` into a ``LabSpec`` (docs/lab-format.md).

``load_lab`` returns a frozen ``LabSpec`` or raises ``LabSpecError`` carrying
every problem found, each with the file and line, so an instructor fixes a lab
in one pass. The runtime and the services only ever see a valid ``LabSpec``.

The parts: lab_document.py reads the file (values and lines), lab_tasks.py the tasks,
lab_model.py holds what they build; this module walks the rest (limits, containers, flag).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lms.content.issues import ContentIssue
from lms.content.lab_document import LabDocument, ValueReader
from lms.content.lab_model import (
    CAPABILITIES,
    CONTAINER_KEYS,
    FLAG_KEYS,
    HASH_SKIP,
    LAB_CAPABILITIES,
    LAB_FILE,
    LAB_MODES,
    LIMIT_KEYS,
    MAX_POOL,
    MIN_MEMORY,
    NAME_RE,
    NETWORK_MODES,
    SLUG_RE,
    TOP_KEYS,
    ContainerSpec,
    FlagSpec,
    LabSpec,
    LabSpecError,
    Limits,
    RoleSpec,
    format_size,
    parse_size,
)
from lms.content.lab_tasks import TaskSection
from lms.content.lab_team import TeamSection


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
    doc = LabDocument(folder / LAB_FILE)
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


@dataclass
class _LabParser(TaskSection, TeamSection, ValueReader):
    """Walks the plain data of lab.yaml, reporting problems through the document."""

    folder: Path
    doc: LabDocument
    max_limits: Limits | None
    containers: dict[str, ContainerSpec] = field(default_factory=dict)
    mode: str = "solo"
    roles: dict[str, RoleSpec] = field(default_factory=dict)

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
        self.mode = self._choice(data, "mode", LAB_MODES, "solo")
        self.containers = self._containers(data.get("containers"))
        self.roles = self._roles(data.get("roles"))
        workstation = self._workstation(data.get("workstation"))
        if network == "none" and len(self.containers) > 1:
            self.doc.error(("network",), "network: none allows one container only")
        flag = self._flag(data.get("flag"), workstation)
        tasks = self._tasks(data.get("tasks"), workstation, flag)
        injects = self._injects(data.get("injects"))
        pool = self._pool(data)
        if self.doc.issues:
            return None
        builds = [c.build for c in self.containers.values() if c.build]
        return LabSpec(
            slug=slug,
            title=title,
            description=self._text(data, "description") or "",
            ttl_minutes=ttl,
            max_minutes=max_minutes,
            pool=pool,
            limits=limits,
            network=network,
            workstation=workstation,
            containers=self.containers,
            flag=flag,
            tasks=tasks,
            folder=self.folder,
            content_hash=content_hash(self.folder, builds),
            warnings=tuple(self._link_warnings(tasks)),
            mode=self.mode,
            roles=tuple(self.roles.values()),
            injects=injects,
        )

    # -- generic helpers -------------------------------------------------

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

    def _pool(self, data: dict) -> int:
        pool = self._int(data, "pool", (), 0, 0, MAX_POOL)
        if pool and self.mode == "team":
            self.doc.error(
                ("pool",),
                "pool: must be 0 in a team lab (an exercise starts its teams' labs itself)",
            )
            return 0
        return pool

    def _workstation(self, value: Any) -> str:
        names = list(self.containers)
        if value is None and self.roles:
            return next(iter(self.roles.values())).workstation  # team labs: the first role's
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
            mode=self._octal_mode(data, ("flag",), 0o400),
            uid=self._owner_id(data, "uid"),
            gid=self._owner_id(data, "gid"),
        )

    def _owner_id(self, data: dict, key: str) -> int | None:
        """``flag.uid``/``flag.gid`` when given (by default the container's user owns it)."""
        if key not in data:
            return None
        return self._int(data, key, ("flag",), 0, 0, 2**31 - 1)

    def _octal_mode(self, data: dict, path: tuple, default: int) -> int:
        """File mode, read as octal from the YAML text: 400, 0400, "0440" and 0o440 all work."""
        if "mode" not in data:
            return default
        raw = self._raw_scalar((*path, "mode"))
        digits = raw.lower().removeprefix("0o").lstrip("0") or "0"
        if not re.fullmatch(r"[0-7]{1,4}", digits):
            self.doc.error(
                (*path, "mode"),
                f"{path[-1]}.mode: {raw} is not an octal file mode like {default:04o}",
            )
            return default
        return int(digits, 8)
