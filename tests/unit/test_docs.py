"""The formats belong to the repository: every key the loaders accept, every
setting and every command is described in docs/. When this fails after you added
a key, a setting or a command, describe it in the file the message names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import pytest

from lms import config
from lms.content import lab_model as spec

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def sections(name: str) -> dict[str, str]:
    """The doc's text under each `## heading` (heading text -> body)."""
    text = (DOCS / name).read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def subsection(name: str, heading: str) -> str:
    """The text of ``## heading``, or of ``### sub`` below it for ``heading / sub``."""
    top, _, sub = heading.partition(" / ")
    text = sections(name)[top]
    if not sub:
        return text
    parts = re.split(r"^### (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}[sub]


def table_keys(text: str) -> set[str]:
    """Keys described in a table's first column: | `key` | ..."""
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))


def missing(keys, documented: set[str]) -> list[str]:
    return sorted(set(keys) - documented)


# -- lab.yaml: lms/content/lab_model.py---------------------------------------------------------


@pytest.mark.parametrize(
    "keys, section",
    [
        (spec.TOP_KEYS, "Top-level keys"),
        (spec.LIMIT_KEYS, "`limits`"),
        (spec.CONTAINER_KEYS, "Containers"),
        (spec.FLAG_KEYS, "`flag`"),
        (spec.TASK_KEYS, "Tasks"),
        (spec.ROLE_KEYS, "Team exercises (`mode: team`) / `roles`"),
        (spec.INJECT_KEYS, "Team exercises (`mode: team`) / `injects`"),
        (spec.INJECT_RUN_KEYS, "Team exercises (`mode: team`) / Inject `run`"),
        (spec.INJECT_FILE_KEYS, "Team exercises (`mode: team`) / Inject `file`"),
    ],
)
def test_every_lab_key_is_documented(keys, section):
    documented = table_keys(subsection("lab-format.md", section))
    assert not missing(keys, documented), f"docs/lab-format.md, {section}: add a row for each"


# -- course.yaml, module front matter, quizzes: lms/catalog/loader.py ---------------------

# Which loader functions read which part of a course, and where the docs describe it.
COURSE_READERS = {
    "## `course.yaml`": ("load_course", "_check_course_meta", "_check_requires", "_module_files"),
    "## Module files": ("_module_meta",),
    "## Quizzes": ("_parse_question", "_text_question"),
    "## Quiz rules": ("_quiz_rules",),
}
MAPPINGS = {"meta", "item", "rules"}  # the names the loader gives the YAML mappings it reads


def keys_read_by(function: ast.FunctionDef) -> set[str]:
    """String keys a function reads from a mapping: meta.get("k"), meta["k"], and the
    names of a `for key in ("a", "b")` loop."""
    found = set()
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in MAPPINGS
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.add(node.args[0].value)
        elif (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id in MAPPINGS
            and isinstance(node.slice, ast.Constant)
        ):
            found.add(node.slice.value)
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Tuple):
            found |= {e.value for e in node.iter.elts if isinstance(e, ast.Constant)}
    return {key for key in found if isinstance(key, str)}


def loader_keys() -> dict[str, set[str]]:
    tree = ast.parse((ROOT / "lms" / "catalog" / "loader.py").read_text(encoding="utf-8"))
    functions = {f.name: f for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}
    return {
        heading: set().union(*(keys_read_by(functions[name]) for name in names))
        for heading, names in COURSE_READERS.items()
    }


def test_the_loader_reading_is_found():
    keys = loader_keys()
    assert {"title", "summary", "modules"} <= keys["## `course.yaml`"]
    assert {"title", "lab"} <= keys["## Module files"]
    assert {"question", "choices", "answer"} <= keys["## Quizzes"]


def test_every_course_key_is_documented():
    docs = sections("course-format.md")
    for heading, keys in loader_keys().items():
        documented = table_keys(docs[heading.removeprefix("## ")])
        assert not missing(keys, documented), f"docs/course-format.md, {heading}: add a row"


# -- settings: lms/config.py and the domains ---------------------------------------------


def settings() -> dict[str, bool]:
    """Every LMS_* setting -> whether the environment may set it."""
    from lms.metrics import SETTINGS as METRICS_SETTINGS
    from lms.terminal import SETTINGS as TERMINAL_SETTINGS

    keys = {k: False for k in vars(config.Config) if k.startswith("LMS_")}
    keys.update(dict.fromkeys(config.ENV_KEYS, True))
    keys.update(dict.fromkeys(TERMINAL_SETTINGS, True))
    keys.update(dict.fromkeys(METRICS_SETTINGS, True))
    return keys


def test_every_setting_is_documented_with_where_it_comes_from():
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(LMS_[A-Z0-9_]+)` \|([^|]*)\|", text, flags=re.MULTILINE))
    assert not missing(settings(), set(rows)), "docs/configuration.md: add a row for each"
    wrong = [k for k, env in settings().items() if (rows[k].strip() == "env") != env]
    assert not wrong, f"docs/configuration.md: the env column is wrong for {wrong}"


# -- the command line ------------------------------------------------------------------------


def commands(group: click.Group, path: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        else:
            yield " ".join(("lms", *path, name)), command


def test_every_command_and_option_is_documented(app):
    text = (DOCS / "command-line.md").read_text(encoding="utf-8")
    app.cli.commands.pop("db", None)  # Flask-Migrate's, for developers (mentioned in the docs)
    undocumented = []
    for name, command in commands(app.cli):
        if f"`{name}" not in text:
            undocumented.append(name)
        for param in command.params:
            for option in param.opts:
                if (
                    option.startswith("-")
                    and f"`{option}" not in text
                    and f", `{option}" not in text
                ):
                    undocumented.append(f"{name} {option}")
    assert not undocumented, f"docs/command-line.md: describe {undocumented}"


def test_the_readme_links_the_docs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for doc in ("course-format.md", "lab-format.md", "command-line.md", "configuration.md"):
        assert f"docs/{doc}" in readme
    assert "](../" not in readme, "the README links a file outside the repository"
