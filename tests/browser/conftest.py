"""Browser fixtures: a live server on a free port and headless Debian Chromium.

Later suites add to these: ``live_app`` is the Flask app behind the server (use
``with live_app.app_context():`` to prepare data), ``sign_in(page, role)``
signs a fresh user in through the real form and returns their email.
"""

from __future__ import annotations

import itertools
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from lms import create_app
from lms.extensions import db
from tests.conftest import FIXTURE_COURSES, PASSWORD, ROOT, reset_schema, test_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
_user_numbers = itertools.count(1)

BROWSER_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items):
    """Mark every test of this folder ``browser``, so ``-m "not browser"`` leaves them out
    (a ``pytestmark`` in a conftest marks nothing)."""
    for item in items:
        if BROWSER_TESTS in item.path.resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """The app behind the live server, with the shipped and fixture courses synced."""
    tmp = tmp_path_factory.mktemp("live")
    courses = tmp / "courses"
    shutil.copytree(ROOT / "courses", courses)
    shutil.copytree(FIXTURE_COURSES / "demo-course", courses / "demo-course")
    app = create_app(
        test_config(tmp, LMS_COURSES_DIR=str(courses), WTF_CSRF_ENABLED=True, SERVER_NAME=None)
    )
    with app.app_context():
        reset_schema()
        from lms.catalog.services import sync_courses

        report = sync_courses(courses)
        assert not report.issues, report.issues
    yield app
    with app.app_context():
        db.session.remove()


@pytest.fixture(scope="session")
def live_server(live_app):
    """Base URL of a threaded server running ``live_app`` on a free port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def create_live_user(live_app):
    """create_live_user(role='trainee', **fields) -> email of a new account on the live app."""

    def _create(role="trainee", **fields):
        from lms.auth.services import create_user

        email = fields.pop("email", None) or f"{role}{next(_user_numbers)}@example.org"
        with live_app.app_context():
            create_user(
                email, PASSWORD, role=role, name=fields.pop("name", f"Test {role}"), **fields
            )
            db.session.commit()
        return email

    return _create


@pytest.fixture
def sign_in(create_live_user):
    """sign_in(page, role='trainee', email=None) -> email; signs in through the form."""

    def _sign_in(page, role="trainee", email=None):
        email = email or create_live_user(role)
        page.goto("/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return email

    return _sign_in
