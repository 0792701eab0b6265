"""Every word a template shows goes through gettext, and the Chinese catalogue is complete.

A template's text is found with Jinja's own lexer: the data between tags and
expressions, outside ``{% trans %}`` blocks, read as HTML (text nodes, and the
attributes people read: title, aria-label, placeholder, alt). A word there that is not a
brand name is an interface string nobody can translate."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "lms").glob("**/templates/**/*.html"))
TRANSLATIONS = ROOT / "lms" / "translations"

# Names that stay as they are in every language.
BRANDS = re.compile(
    r"Cyber Range LMS|LMS|UTC|LTI|xAPI|TOTP|CSV|PDF|JSON|API|URL|SSO|OpenID Connect|"
    r"Open Badges|Ed25519|Docker|Prometheus|QR|ID|[A-Z]{2,}\b"
)
URLS = re.compile(r"\b(?:https?://|/)\S*")
ENTITIES = re.compile(r"&#?\w+;")
WORD = re.compile(r"[^\W\d_]{2,}")
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt"}
# Only its lexer is used: nothing is rendered.
LEXER = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
HOLE = "\x00"  # where an expression or tag was: never part of a word

# Templates not yet wrapped (a list that only shrinks): the test fails when one of them
# becomes clean, so it leaves this list in the same commit.
NOT_YET_TRANSLATED: set[str] = set()


# A sentence in an expression: {{ 'Try again' if failed else 'Submit' }}
SENTENCE = re.compile(r"^[A-Z][a-z]")
GETTEXT_CALLS = {"_", "gettext", "ngettext", "lazy_gettext"}


def untranslated_literals(source: str) -> list[str]:
    """Capitalised strings written in {{ expressions }} outside a gettext call."""
    found = []
    in_expression = False
    previous: list[tuple[str, str]] = []
    for _lineno, kind, value in LEXER.lex(source):
        if kind == "variable_begin":
            in_expression = True
        elif kind == "variable_end":
            in_expression = False
        elif kind == "whitespace":
            continue
        elif in_expression and kind == "string" and SENTENCE.match(value.strip("'\"")):
            called = len(previous) == 2 and previous[0][1] in GETTEXT_CALLS
            if not (called and previous[1] == ("operator", "(")):
                found.append(value.strip("'\""))
        previous = (previous + [(kind, value)])[-2:]
    return found


def _skeleton(source: str) -> str:
    """The template's literal text, expressions replaced by HOLE, tags by a space, and the
    inside of {% trans %} blocks left out (it is translated)."""
    parts: list[str] = []
    in_trans = False
    after_block_begin = False
    for _lineno, kind, value in LEXER.lex(source):
        if kind == "block_begin":
            after_block_begin = True
            continue
        if after_block_begin and kind == "name":
            if value == "trans":
                in_trans = True
            elif value == "endtrans":
                in_trans = False
            after_block_begin = False
        if kind == "data":
            parts.append(HOLE if in_trans else value)
        elif kind == "variable_begin":
            parts.append(HOLE)
        elif kind == "block_end":
            parts.append(" ")  # a tag may sit inside an HTML tag: <tr{% if x %} class=..>
    return "".join(parts)


class _TextCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.texts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        self.texts += [value for name, value in attrs if name in READ_ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)

    def handle_data(self, data):
        if not self._skip:
            self.texts.append(data)


def untranslated_words(source: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(_skeleton(source))
    found = []
    for text in collector.texts:
        for piece in text.split(HOLE):
            piece = BRANDS.sub(" ", URLS.sub(" ", ENTITIES.sub(" ", piece)))
            if WORD.search(piece):
                found.append(piece.strip())
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_checker_finds_text_outside_gettext_and_passes_wrapped_text():
    assert untranslated_words('<p title="Open it">{{ x }}</p>') == ["Open it"]
    assert untranslated_words("<p>Due {{ when }}</p>") == ["Due"]
    assert untranslated_words("<b>{{ _('Due') }}</b> · LMS &middot; UTC") == []
    assert untranslated_words("{% trans n=3 %}{{ n }} labs{% endtrans %}") == []
    assert untranslated_words("<script>let a = 'x';</script>") == []
    assert untranslated_literals("{{ 'Try again' if x else _('Submit') }}") == ["Try again"]
    assert untranslated_literals("{{ url_for('auth.login') }}{% if a == 'Done' %}") == []


def test_every_template_string_goes_through_gettext():
    problems = {}
    for path in TEMPLATES:
        source = path.read_text(encoding="utf-8")
        words = untranslated_words(source) + untranslated_literals(source)
        if words and _name(path) not in NOT_YET_TRANSLATED:
            problems[_name(path)] = words[:5]
        if not words and _name(path) in NOT_YET_TRANSLATED:
            problems[_name(path)] = "now translated: remove it from NOT_YET_TRANSLATED"
    assert not problems, problems


def test_every_message_has_a_chinese_translation_and_the_catalogue_compiles(tmp_path):
    with open(TRANSLATIONS / "messages.pot", "rb") as pot_file:
        template_ids = {m.id for m in read_po(pot_file) if m.id}
    with open(TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po", "rb") as po_file:
        catalog = read_po(po_file)
    missing = [
        str(message_id)
        for message_id in template_ids
        if not (catalog.get(message_id) and _translated(catalog.get(message_id).string))
    ]
    assert not missing, missing[:10]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, fuzzy[:10]
    with open(tmp_path / "messages.mo", "wb") as mo_file:
        write_mo(mo_file, catalog)
    assert (tmp_path / "messages.mo").stat().st_size > 0


def _translated(string) -> bool:
    if isinstance(string, tuple):  # plural forms
        return all(string)
    return bool(string)


@pytest.mark.parametrize("path", TEMPLATES[:1])
def test_templates_are_found(path):
    assert path.exists() and len(TEMPLATES) > 60
