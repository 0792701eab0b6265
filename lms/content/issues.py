"""What course and lab validation report: a problem at a file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class ContentIssue:
    """One problem: file, 1-based line (None: the whole file) and message."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{display_path(self.path)}: {self.message}"
        return f"{display_path(self.path)}:{self.line}: {self.message}"


def display_path(path: str | Path) -> str:
    """Relative to the working directory when below it: what an author can click on."""
    path = Path(path)
    try:
        # the folder resolved, not the file: a symbolic link is named as itself
        return str((path.parent.resolve() / path.name).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class ContentError(Exception):
    """Raised with every issue found, never just the first."""

    def __init__(self, issues: list[ContentIssue]):
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


def key_lines(text: str, first_line: int = 1) -> dict[str, int]:
    """Line numbers (1-based) of the top-level keys of a YAML mapping."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + first_line for k, _ in node.value}


def yaml_error_issue(path: Path | str, exc: yaml.YAMLError, first_line: int = 1) -> ContentIssue:
    # The context (an unclosed bracket, a key missing its ':') points where the author
    # must look; the problem mark is often the end of the file.
    mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
    line = (mark.line + first_line) if mark else first_line
    problem = getattr(exc, "problem", None) or str(exc)
    if getattr(exc, "context", None):
        problem = f"{exc.context}: {problem}"
    return ContentIssue(str(path), line, f"invalid YAML: {problem}")
