"""Read and validate a course folder (the format: docs/course-format.md).

Every problem is collected with its file and line, so an author fixes them all
in one pass. Nothing here touches the database.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml

from lms.catalog.quiz_rules import (
    EXPLANATIONS,
    MAX_ATTEMPTS_LIMIT,
    MAX_COOLDOWN_MINUTES,
    QuizRules,
)
from lms.catalog.rendering import IMAGE_SUFFIXES, render_inline, render_markdown
from lms.content import ContentError, ContentIssue, key_lines, yaml_error_issue

LEVELS = ("beginner", "intermediate", "advanced")
MODULE_FILE = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)\.md$")
# A module in another language beside it: 01-the-shell.zh.md (docs/course-format.md).
TRANSLATED_MODULE_FILE = re.compile(r"^(\d+)-([a-z0-9][a-z0-9-]*)\.([a-z]{2,3})\.md$")
COURSE_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
QUIZ_FENCE = re.compile(r"^```quiz[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# How a free-text answer is compared with the accepted ones (`match:` of a question).
TEXT_MATCHES = ("exact", "ignore_case", "pattern")
MAX_TEXT_ANSWER = 200  # characters a trainee may type into a free-text answer


@dataclass
class QuizQuestion:
    question: str
    choices: list[str]  # empty for a free-text question
    answer: list[int]  # 1-based, sorted; empty for a free-text question
    explain: str = ""
    accepted: list[str] = field(default_factory=list)  # free text: the accepted answers
    match: str = "exact"  # free text: exact | ignore_case | pattern

    @property
    def multiple(self) -> bool:
        return len(self.answer) > 1

    @property
    def free_text(self) -> bool:
        return not self.choices

    def as_dict(self) -> dict:
        question = {
            "question": self.question,
            "question_html": render_inline(self.question),
            "choices": self.choices,
            "answer": self.answer,
            "multiple": self.multiple,
            "explain_html": render_inline(self.explain),
        }
        if self.free_text:
            question.update(kind="text", accepted=self.accepted, match=self.match)
        return question


@dataclass
class ModuleSource:
    slug: str
    filename: str
    title: str
    duration: int | None = None
    objectives: list[str] = field(default_factory=list)
    lab: str | None = None
    body_html: str = ""
    toc_html: str = ""
    quiz: list[QuizQuestion] = field(default_factory=list)
    lab_line: int = 1
    # locale -> {"title", "body_html", "toc_html"} of its translated file, if any
    translations: dict[str, dict] = field(default_factory=dict)


@dataclass
class CourseSource:
    slug: str
    folder: Path
    title: str
    summary: str
    level: str
    estimated_hours: float | None
    tags: list[str]
    authors: list[str]
    modules: list[ModuleSource]
    content_hash: str
    requires: list[str] = field(default_factory=list)  # slugs of courses to take first
    quiz_rules: QuizRules = field(default_factory=QuizRules)  # course.yaml `quiz:`


class _Collector:
    def __init__(self):
        self.issues: list[ContentIssue] = []

    def add(self, path, line, message):
        self.issues.append(ContentIssue(str(path), line, message))


def asset_url(course_slug: str, path: str) -> str:
    return f"/courses/{course_slug}/assets/{path}"


def load_course(folder: Path, known_labs: set[str] | None = None) -> CourseSource:
    """Parse and validate one course; raises ContentError listing every issue."""
    folder = Path(folder)
    issues = _Collector()
    if _check_symlinks(folder, issues):
        raise ContentError(issues.issues)  # never read through a link that leaves the course
    meta, lines = _read_course_yaml(folder / "course.yaml", issues)
    slug = folder.name
    _check_requires(folder, meta, lines, issues)
    quiz_rules = _quiz_rules(folder / "course.yaml", meta.get("quiz"), lines, issues)
    if not COURSE_SLUG.match(slug):
        issues.add(folder, 1, f"course folder '{slug}' must be lower-case letters, digits and '-'")
    files = _module_files(folder, meta, lines, issues)
    modules = [_load_module(folder, slug, f, issues, known_labs) for f in files]
    modules = [m for m in modules if m is not None]
    if not modules and not issues.issues:
        issues.add(folder / "course.yaml", 1, "the course has no modules (NN-slug.md files)")
    if issues.issues:
        raise ContentError(issues.issues)
    return CourseSource(
        slug=slug,
        folder=folder,
        title=str(meta["title"]).strip(),
        summary=str(meta["summary"]).strip(),
        level=meta.get("level", "beginner"),
        estimated_hours=meta.get("estimated_hours"),
        tags=[str(t) for t in meta.get("tags") or []],
        authors=[str(a) for a in meta.get("authors") or []],
        modules=modules,
        content_hash=_content_hash(folder),
        requires=list(meta.get("requires") or []),
        quiz_rules=quiz_rules,
    )


def load_courses(courses_dir: Path, known_labs: set[str] | None = None):
    """All course folders under ``courses_dir``: (valid courses, issues of the invalid ones)."""
    courses, issues = [], []
    courses_dir = Path(courses_dir)
    if (courses_dir / "course.yaml").exists():  # PATH may name one course
        folders = [courses_dir]
    else:
        folders = sorted(
            p for p in courses_dir.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
    for folder in folders:
        if not (folder / "course.yaml").exists():
            issues.append(ContentIssue(str(folder), 1, "no course.yaml in this course folder"))
            continue
        try:
            courses.append(load_course(folder, known_labs))
        except ContentError as exc:
            issues.extend(exc.issues)
    return courses, issues


def _check_symlinks(folder: Path, issues: _Collector) -> bool:
    """Report every symbolic link in the course that resolves outside it.

    The course is served and read file by file: a link such as ``images/a.png ->
    /srv/lms/instance/secret_key`` would hand out whatever it points at. True when
    any was found.
    """
    root = folder.resolve()
    found = False
    for parent, dirs, files in os.walk(folder):  # does not descend into linked folders
        for name in sorted(dirs + files):
            path = Path(parent) / name
            if not path.is_symlink():
                continue
            try:
                inside = path.resolve().is_relative_to(root)
            except (OSError, RuntimeError):  # a loop of links
                inside = False
            if not inside:
                issues.add(path, 1, f"symbolic link '{name}' points outside the course folder")
                found = True
    return found


def _read_course_yaml(path: Path, issues: _Collector) -> tuple[dict, dict[str, int]]:
    try:
        text = path.read_text(encoding="utf-8")
        meta = yaml.safe_load(text) or {}
    except FileNotFoundError:
        issues.add(path, 1, "course.yaml is missing")
        return {}, {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        issues.issues.append(
            yaml_error_issue(path, exc)
            if isinstance(exc, yaml.YAMLError)
            else ContentIssue(str(path), 1, "not UTF-8 text")
        )
        return {}, {}
    if not isinstance(meta, dict):
        issues.add(path, 1, "course.yaml must be a mapping of keys to values")
        return {}, {}
    lines = key_lines(text)
    _check_course_meta(path, meta, lines, issues)
    return meta, lines


def _check_course_meta(path, meta, lines, issues):
    for key in ("title", "summary"):
        if not str(meta.get(key) or "").strip():
            issues.add(path, lines.get(key, 1), f"'{key}' is required")
    if meta.get("level", "beginner") not in LEVELS:
        issues.add(path, lines["level"], f"level must be one of {', '.join(LEVELS)}")
    hours = meta.get("estimated_hours")
    if hours is not None and (not isinstance(hours, int | float) or hours <= 0):
        issues.add(
            path, lines.get("estimated_hours", 1), "estimated_hours must be a positive number"
        )
    for key in ("tags", "authors", "modules", "requires"):
        value = meta.get(key)
        if value is not None and not isinstance(value, list):
            issues.add(path, lines.get(key, 1), f"'{key}' must be a list")
            meta[key] = []


def _check_requires(folder: Path, meta: dict, lines: dict, issues: _Collector) -> None:
    """`requires:` names courses that sit next to this one in the courses folder."""
    line = lines.get("requires", 1)
    for slug in meta.get("requires") or []:
        if not isinstance(slug, str) or not COURSE_SLUG.match(slug):
            issues.add(folder / "course.yaml", line, f"requires: {slug!r} is not a course slug")
        elif slug == folder.name:
            issues.add(folder / "course.yaml", line, "requires: a course cannot require itself")
        elif not (folder.parent / slug / "course.yaml").is_file():
            issues.add(
                folder / "course.yaml",
                line,
                f"requires: no course '{slug}' (expected {slug}/course.yaml next to this course)",
            )


def _quiz_rules(path: Path, rules, lines: dict, issues: _Collector) -> QuizRules:
    """The `quiz:` mapping of course.yaml: how every quiz of the course is taken."""
    line = lines.get("quiz", 1)
    if rules is None:
        return QuizRules()
    if not isinstance(rules, dict):
        issues.add(path, line, "quiz: must be a mapping (shuffle_choices, max_attempts, ...)")
        return QuizRules()
    known = set(QuizRules.__dataclass_fields__)
    for key in sorted(set(rules) - known, key=str):
        issues.add(path, line, f"quiz: unknown key {key!r} (known: {', '.join(sorted(known))})")

    def whole(key, value, low, high):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            issues.add(path, line, f"quiz: {key} must be a whole number from {low} to {high}")
            return None
        return value

    shuffle = rules.get("shuffle_choices", False)
    if not isinstance(shuffle, bool):
        issues.add(path, line, "quiz: shuffle_choices must be true or false")
        shuffle = False
    explanations = rules.get("explanations", "always")
    if explanations not in EXPLANATIONS:
        issues.add(path, line, f"quiz: explanations must be one of {', '.join(EXPLANATIONS)}")
        explanations = "always"
    return QuizRules(
        shuffle_choices=shuffle,
        questions_per_attempt=whole(
            "questions_per_attempt", rules.get("questions_per_attempt"), 1, 1000
        ),
        max_attempts=whole("max_attempts", rules.get("max_attempts"), 1, MAX_ATTEMPTS_LIMIT),
        cooldown_minutes=whole(
            "cooldown_minutes", rules.get("cooldown_minutes"), 0, MAX_COOLDOWN_MINUTES
        )
        or 0,
        explanations=explanations,
    )


def _module_files(folder: Path, meta: dict, lines: dict, issues: _Collector) -> list[Path]:
    on_disk = sorted(p for p in folder.glob("*.md") if MODULE_FILE.match(p.name))
    for stray in folder.glob("*.md"):
        if (
            not MODULE_FILE.match(stray.name)
            and not TRANSLATED_MODULE_FILE.match(stray.name)
            and stray.name.lower() != "readme.md"
        ):
            issues.add(stray, 1, "module file names look like 01-module-slug.md")
    listed = meta.get("modules")
    if not listed:
        return on_disk
    files = []
    for name in listed:
        path = folder / str(name)
        if not MODULE_FILE.match(str(name)) or not path.is_file():
            issues.add(
                folder / "course.yaml", lines.get("modules", 1), f"module '{name}' not found"
            )
        else:
            files.append(path)
    return files


def _load_module(
    folder, course_slug, path: Path, issues: _Collector, known_labs
) -> ModuleSource | None:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        issues.add(path, 1, "not UTF-8 text")
        return None
    front, body, body_line = _split_front_matter(path, text, issues)
    if front is None:
        return None
    fm_lines = key_lines(front, first_line=2)
    try:
        meta = yaml.safe_load(front) or {}
    except yaml.YAMLError as exc:
        issues.issues.append(yaml_error_issue(path, exc, first_line=2))
        return None
    if not isinstance(meta, dict):
        issues.add(path, 2, "front matter must be a mapping of keys to values")
        return None
    module = _module_meta(path, meta, fm_lines, issues, known_labs)
    body, module.quiz = _extract_quiz(path, body, body_line, issues)
    module_dir = path.parent.relative_to(folder).as_posix().removeprefix(".")
    rendered = render_markdown(body, lambda p: asset_url(course_slug, p), module_dir)
    for image in rendered.images:
        _check_image(folder, path, image, text, issues)
    module.body_html, module.toc_html = rendered.html, rendered.toc_html
    module.translations = _load_translations(path, course_slug, module_dir, module.title, issues)
    return module


def _load_translations(path: Path, course_slug, module_dir, title, issues) -> dict:
    """The module's translated files (01-the-shell.zh.md): their title (else the
    module's) and text. Quiz, lab and the other settings stay those of the module."""
    translations = {}
    for translated in sorted(path.parent.glob(f"{path.stem}.*.md")):
        match = TRANSLATED_MODULE_FILE.match(translated.name)
        if not match:
            continue
        try:
            text = translated.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            issues.add(translated, 1, "not UTF-8 text")
            continue
        front, body, _body_line = _split_front_matter(translated, text, issues)
        if front is None:
            continue
        try:
            meta = yaml.safe_load(front) or {}
        except yaml.YAMLError as exc:
            issues.issues.append(yaml_error_issue(translated, exc, first_line=2))
            continue
        body = QUIZ_FENCE.sub("", body)  # the quiz is the module's own
        rendered = render_markdown(body, lambda p: asset_url(course_slug, p), module_dir)
        translations[match.group(3)] = {
            "title": str((meta.get("title") if isinstance(meta, dict) else None) or title),
            "body_html": rendered.html,
            "toc_html": rendered.toc_html,
        }
    return translations


def _split_front_matter(path, text, issues):
    if not text.startswith("---"):
        issues.add(path, 1, "a module starts with YAML front matter between '---' lines")
        return None, "", 1
    try:
        front, body = frontmatter.YAMLHandler().split(text)
    except ValueError:
        issues.add(path, 1, "the front matter is not closed by a '---' line")
        return None, "", 1
    body_line = text[: text.index(body)].count("\n") + 1 if body else 1
    # the handler keeps the newline after the opening '---': line 2 is the first key
    return front.lstrip("\n"), body, body_line


def _module_meta(path, meta, lines, issues, known_labs) -> ModuleSource:
    match = MODULE_FILE.match(path.name)
    title = str(meta.get("title") or "").strip()
    if not title:
        issues.add(path, lines.get("title", 2), "'title' is required")
    duration = meta.get("duration")
    if duration is not None and (not isinstance(duration, int) or duration <= 0):
        issues.add(path, lines.get("duration", 2), "duration is a whole number of minutes")
        duration = None
    objectives = meta.get("objectives") or []
    if not isinstance(objectives, list):
        issues.add(path, lines.get("objectives", 2), "objectives must be a list")
        objectives = []
    lab = meta.get("lab")
    if lab is not None and known_labs is not None and str(lab) not in known_labs:
        issues.add(path, lines.get("lab", 2), f"unknown lab '{lab}': no labs/{lab}/lab.yaml")
    return ModuleSource(
        slug=match.group(2),
        filename=path.name,
        title=title,
        duration=duration,
        objectives=[str(o) for o in objectives],
        lab=str(lab) if lab else None,
        lab_line=lines.get("lab", 2),
    )


def _extract_quiz(path, body: str, body_line: int, issues) -> tuple[str, list[QuizQuestion]]:
    questions: list[QuizQuestion] = []
    for block in QUIZ_FENCE.finditer(body):
        line = body_line + body[: block.start()].count("\n") + 1
        questions.extend(_parse_quiz(path, block.group(1), line, issues))
    return QUIZ_FENCE.sub("", body), questions


def _parse_quiz(path, text: str, first_line: int, issues) -> list[QuizQuestion]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        items = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        issues.issues.append(yaml_error_issue(path, exc, first_line))
        return []
    if not isinstance(items, list):
        issues.add(path, first_line, "a quiz is a YAML list of questions")
        return []
    questions = []
    for item, item_node in zip(items, node.value, strict=False):
        line = item_node.start_mark.line + first_line
        question = _parse_question(path, item, line, issues)
        if question:
            questions.append(question)
    return questions


def _parse_question(path, item, line, issues) -> QuizQuestion | None:
    if not isinstance(item, dict):
        issues.add(path, line, "each quiz question is a mapping with question, choices, answer")
        return None
    text = str(item.get("question") or "").strip()
    choices = item.get("choices")
    answer = item.get("answer")
    if choices is None:  # no choices: the trainee types the answer
        return _text_question(path, item, text, line, issues)
    problems = []
    if not text:
        problems.append("'question' is required")
    if "match" in item:
        problems.append("'match' is only for free-text questions (those without choices)")
    if not isinstance(choices, list) or len(choices) < 2:
        problems.append("'choices' must list at least two answers")
        choices = []
    answers = answer if isinstance(answer, list) else [answer]
    if not answers or not all(isinstance(a, int) and not isinstance(a, bool) for a in answers):
        problems.append("'answer' is a choice number (1-based) or a list of them")
    elif choices and any(a < 1 or a > len(choices) for a in answers):
        problems.append(f"'answer' must be between 1 and {len(choices)}")
    for problem in problems:
        issues.add(path, line, f"quiz question: {problem}")
    if problems:
        return None
    return QuizQuestion(
        question=text,
        choices=[str(c) for c in choices],
        answer=sorted(set(answers)),
        explain=str(item.get("explain") or "").strip(),
    )


def _text_question(path, item: dict, text: str, line, issues) -> QuizQuestion | None:
    """A question answered by typing: `answer` is the accepted text (or a list of them),
    compared as `match` says."""
    answer = item.get("answer")
    match = item.get("match", "exact")
    if isinstance(answer, int | float) and not isinstance(answer, bool):
        answer = str(answer)  # `answer: 22` is the text "22" (YAML reads it as a number)
    accepted = answer if isinstance(answer, list) else [answer]
    problems = []
    if not text:
        problems.append("'question' is required")
    if not accepted or not all(isinstance(a, str) and a.strip() for a in accepted):
        problems.append(
            "'answer' of a free-text question is a text or a list of texts "
            "(a question with answer numbers needs 'choices')"
        )
        accepted = []
    if match not in TEXT_MATCHES:
        problems.append(f"'match' must be one of {', '.join(TEXT_MATCHES)}")
    elif match == "pattern":
        for pattern in accepted:
            try:
                re.compile(pattern)
            except re.error as exc:
                problems.append(f"'answer' {pattern!r} is not a valid pattern: {exc}")
    for problem in problems:
        issues.add(path, line, f"quiz question: {problem}")
    if problems:
        return None
    return QuizQuestion(
        question=text,
        choices=[],
        answer=[],
        explain=str(item.get("explain") or "").strip(),
        accepted=[a.strip() for a in accepted],
        match=match,
    )


def _check_image(folder: Path, module_path: Path, image: str, text: str, issues) -> None:
    target = (folder / image).resolve()
    line = next((n for n, row in enumerate(text.splitlines(), 1) if image.split("/")[-1] in row), 1)
    if not target.is_relative_to(folder.resolve()) or image.startswith(".."):
        issues.add(module_path, line, f"image '{image}' is outside the course folder")
    elif target.suffix.lower() not in IMAGE_SUFFIXES:
        issues.add(
            module_path, line, f"image '{image}' must be one of {', '.join(sorted(IMAGE_SUFFIXES))}"
        )
    elif not target.is_file():
        issues.add(module_path, line, f"image '{image}' not found")


def _content_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def content_hash(folder: Path) -> str:
    """The version of a course folder, as a sync records it (Course.content_hash): the
    course editor compares the two to tell a draft from what is live."""
    return _content_hash(folder)
