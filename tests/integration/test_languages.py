"""The interface in the reader's language: Simplified Chinese for someone who chose it or
whose browser asks for it, English otherwise; dates per locale; translated modules."""

from __future__ import annotations

import shutil

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lms import create_app
from lms.extensions import db
from tests.conftest import FIXTURE_COURSES, ROOT, reset_schema, test_config

CATALOGUE = ROOT / "lms" / "translations" / "zh" / "LC_MESSAGES" / "messages.po"


@pytest.fixture
def app(tmp_path):
    """The app with the Chinese catalogue compiled from the .po in the repository (as
    ``make install`` does), so the test reads the translations as committed."""
    compiled = tmp_path / "translations" / "zh" / "LC_MESSAGES"
    compiled.mkdir(parents=True)
    with open(CATALOGUE, "rb") as po_file, open(compiled / "messages.mo", "wb") as mo_file:
        write_mo(mo_file, read_po(po_file))
    app = create_app(
        test_config(tmp_path, BABEL_TRANSLATION_DIRECTORIES=str(tmp_path / "translations"))
    )
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_browser_language_chooses_chinese_or_english(client):
    chinese = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    text = chinese.get_data(as_text=True)
    assert '<html lang="zh-Hans">' in text
    assert "忘记密码？" in text and "Forgot your password?" not in text

    english = client.get("/login", headers={"Accept-Language": "fr-FR,en;q=0.5"})
    assert '<html lang="en">' in english.get_data(as_text=True)
    assert "Forgot your password?" in english.get_data(as_text=True)
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_a_trainee_who_picks_chinese_keeps_it_and_sees_dates_in_chinese(app, client, trainee):
    from lms.auth.models import User

    page = client.get("/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'name="locale"' in page and "中文（简体）" in page  # the footer's menu

    client.post("/settings", data={"token-label": "ci", "token-submit": "1"})
    chosen = client.post("/language", data={"locale": "zh", "next": "/settings"})
    assert chosen.status_code == 302 and chosen.headers["Location"].endswith("/settings")
    with app.app_context():
        assert db.session.get(User, trainee).locale == "zh"

    # Their choice wins over the browser's English.
    page = client.get("/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page
    assert "你的设置" in page and "Your settings" not in page
    # The token's date, as Chinese writes it (and not as English does).
    chinese_date, english_date = _token_date(app, "zh"), _token_date(app, "en")
    assert chinese_date != english_date
    assert chinese_date in page and english_date not in page

    client.post("/language", data={"locale": "en", "next": "/settings"})
    page = client.get("/settings").get_data(as_text=True)
    assert "Your settings" in page and '<html lang="en">' in page


def _token_date(app, locale: str) -> str:
    from flask_babel import force_locale, format_datetime

    from lms.auth.models import ApiToken

    with app.test_request_context(), force_locale(locale):
        token = db.session.query(ApiToken).one()
        return format_datetime(token.created_at, "short", rebase=False)


def test_an_unknown_language_is_refused_and_an_outside_next_is_not_followed(client):
    answer = client.post("/language", data={"locale": "xx", "next": "https://evil.example/"})
    assert answer.status_code == 302
    assert "evil.example" not in answer.headers["Location"]
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_a_visitor_s_choice_is_kept_in_their_session(client):
    client.post("/language", data={"locale": "zh", "next": "/login"})
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="zh-Hans">' in page


def test_a_translated_module_is_read_in_chinese_and_english_falls_back(
    app, client, trainee, tmp_path
):
    from lms.catalog.services import sync_courses

    folder = tmp_path / "courses"
    shutil.copytree(FIXTURE_COURSES, folder)
    (folder / "demo-course" / "01-first-steps.zh.md").write_text(
        "---\ntitle: 第一步\n---\n## 欢迎\n\n这是中文版本。\n", encoding="utf-8"
    )
    with app.app_context():
        report = sync_courses(folder)
        assert not report.issues, report.issues  # not a stray file, not a module of its own
        from lms.catalog.models import Course

        course = db.session.query(Course).filter_by(slug="demo-course").one()
        assert [m.slug for m in course.live_modules] == ["first-steps", "next-steps"]

    url = "/courses/demo-course/first-steps"
    chinese = client.get(url, headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "这是中文版本。" in chinese and "第一步" in chinese
    assert "Admonitions work." not in chinese

    english = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Admonitions work." in english and "这是中文版本。" not in english

    # A module with no Chinese file falls back to its own text in Chinese pages.
    other = client.get("/courses/demo-course/next-steps", headers={"Accept-Language": "zh"})
    assert "Plain text module" in other.get_data(as_text=True)


def test_error_pages_speak_the_reader_s_language_and_the_api_stays_english(client):
    page = client.get("/no-such-page", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 404 and "找不到页面" in page.get_data(as_text=True)

    api = client.get(
        "/api/v1/no-such-thing", headers={"Accept-Language": "zh-CN", "Accept": "application/json"}
    )
    assert api.status_code == 404 and api.get_json()["error"] == "not_found"
