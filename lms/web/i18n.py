"""The interface's language (Flask-Babel): which locale a request is served in, and
dates and numbers formatted for it.

The locale is the signed-in person's choice (users.locale), else the choice an
anonymous visitor made in the footer (kept in the session), else the best match of the
browser's Accept-Language among SUPPORTED_LOCALES, else English. Translations live in
lms/translations/<locale>/LC_MESSAGES/messages.po (compiled by ``make install``).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from flask import Flask, request, session
from flask_babel import format_date, format_datetime, format_number, get_locale
from flask_login import current_user

from lms.extensions import babel

# Babel's locale ids. "zh" is Simplified Chinese: Babel's data for it is zh_Hans_CN's.
SUPPORTED_LOCALES = {"en": "English", "zh": "中文（简体）"}
DEFAULT_LOCALE = "en"
# <html lang> per locale (BCP 47): the script, so browsers pick Simplified glyphs.
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
SESSION_KEY = "locale"
# Formats a locale writes differently from Babel's CLDR defaults. English "short" is
# CLDR's American "12/1/26, 9:00 AM"; partners across borders read month and day either
# way round, so English pages keep the platform's unambiguous ISO-style date and time.
DATETIME_PATTERNS = {"en": {"short": "yyyy-MM-dd HH:mm"}}


def select_locale() -> str:
    chosen = getattr(current_user, "locale", None) if current_user else None
    chosen = chosen or session.get(SESSION_KEY)
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES, DEFAULT_LOCALE)


def current_locale() -> str:
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LOCALE


def _date(value, format: str = "medium") -> str:
    """A date (or a datetime's date) as the reader's locale writes it."""
    if not value:
        return ""
    return format_date(value.date() if isinstance(value, datetime) else value, format)


def _datetime(value, format: str = "medium") -> str:
    """A datetime in UTC as the reader's locale writes it (the platform stores naive UTC)."""
    if not value:
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return format_date(value, format)
    format = DATETIME_PATTERNS.get(current_locale(), {}).get(format, format)
    return format_datetime(value, format, rebase=False)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config.setdefault(
        "BABEL_TRANSLATION_DIRECTORIES", str(Path(__file__).parent.parent / "translations")
    )
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters["date"] = _date
    app.jinja_env.filters["datetime"] = _datetime
    app.jinja_env.filters["number"] = format_number
    app.jinja_env.globals["supported_locales"] = SUPPORTED_LOCALES
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["html_lang"] = lambda: HTML_LANG.get(current_locale(), "en")
