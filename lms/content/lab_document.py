"""lab.yaml as the parser reads it: its plain values and the line of every key, so that
each problem is reported where the author must look (``LabDocument``, ``ValueReader``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lms.content.issues import ContentIssue
from lms.content.lab_model import (
    LAB_FILE,
)


class LabDocument:
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


class ValueReader:
    """Reading plain values of lab.yaml, each problem reported at its line (mixed into the
    parser, which has ``doc``, a ``LabDocument``)."""

    doc: LabDocument

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
                self.doc.error(path or (), f"{dotted_key(path, key)} is required")
            return None
        if not isinstance(value, str):
            self.doc.error((*path, key), f"{dotted_key(path, key)} must be text")
            return None
        return value.strip()

    def _int(self, data: dict, key: str, path: tuple, default: int, low: int, high: int) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.doc.error(
                (*path, key),
                f"{dotted_key(path, key)}: {value!r} is not a whole number from {low} to {high}",
            )
            return default
        return value

    def _choice(self, data: dict, key: str, choices: tuple, default: str) -> str:
        value = data.get(key, default)
        if value not in choices:
            self.doc.error((key,), f"{key}: {value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def _raw_scalar(self, path: tuple) -> str:
        """The scalar's text as written in lab.yaml (YAML 1.1 reads 0400 as 256)."""
        return self.doc.scalars.get(path, "")


def dotted_key(path: tuple, key: str) -> str:
    names = [p for p in path if isinstance(p, str) and p not in ("containers", "tasks")]
    return ".".join([*names, key]) if names and names[0] in ("flag", "limits") else key
