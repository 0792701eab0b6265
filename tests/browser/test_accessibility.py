"""Every main page of every role passes axe-core (from npm, package-lock.json) without a
serious or critical violation.

One browser context per role: axe is injected into every page by an init script (the
page's Content-Security-Policy allows no inline script, and needs not change for this),
the pages are the role's menu plus the pages behind it that people use most, on a
programme of its own (tests/programme.py) served by a live server of its own.
"""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from lms import create_app
from lms.extensions import db
from tests.browser.conftest import BROWSER_TESTS
from tests.conftest import FIXTURE_COURSES, PASSWORD, ROOT, reset_schema, test_config

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")

# Pages beyond the menu, per role ({cohort}, {trainee} filled in from the programme); a
# page that looks the same for two roles is checked for one of them.
EXTRA_PAGES = {
    "anonymous": ["/login", "/password/forgot", "/no-such-page"],
    "trainee": [
        "/courses/demo-course",
        "/courses/demo-course/first-steps",
        "/courses/linux-fundamentals/files-and-text",
        "/settings",
    ],
    "instructor": [
        "/cohorts/{cohort}/dashboard",
        "/trainees/{trainee}",
        "/settings/two-factor",
    ],
    "centre_admin": [
        "/centres/alpha",
        "/centres/alpha/sso",
        "/cohorts/{cohort}",
    ],
    "platform_admin": [
        "/programme",
        "/admin/users/{trainee}",
        "/authoring/demo-course/",
        "/authoring/demo-course/files/02-next-steps.md",
    ],
}
SIGN_IN_AS = {
    "trainee": "t_a1",
    "instructor": "inst_a1",
    "centre_admin": "admin_a",
    "platform_admin": "admin",
}


@pytest.fixture(scope="module")
def programme_server(tmp_path_factory):
    """A live server on an app of its own with the centres test programme."""
    from lms.catalog.services import sync_courses
    from tests.programme import build_programme

    tmp = tmp_path_factory.mktemp("axe")
    shutil.copytree(FIXTURE_COURSES, tmp / "courses")
    # A shipped course: notes with inline code, and a module with a lab panel.
    shutil.copytree(ROOT / "courses" / "linux-fundamentals", tmp / "courses" / "linux-fundamentals")
    app = create_app(test_config(tmp, LMS_COURSES_DIR=str(tmp / "courses"), WTF_CSRF_ENABLED=True))
    with app.app_context():
        reset_schema()
        assert not sync_courses(tmp / "courses").issues
        programme = build_programme()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", programme
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _violations(page) -> list[str]:
    results = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations'],"
        " runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}))"
        ".violations"
    )
    return [
        f"{page.url}: {v['impact']} {v['id']}: {v['help']} at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in results
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("role", ["anonymous", *SIGN_IN_AS])
def test_main_pages_have_no_serious_accessibility_violations(browser, programme_server, role):
    base_url, programme = programme_server
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    try:
        if role != "anonymous":
            page.goto("/login")
            page.get_by_label("Email").fill(programme.emails[SIGN_IN_AS[role]])
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(lambda url: "/login" not in url)
        menu = page.locator("#main-nav a.nav-link").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        values = {
            "cohort": programme.cohorts["a1"],
            "trainee": programme.users["t_a1"],
        }
        pages = dict.fromkeys(
            [*menu, *(p.format(**values) for p in EXTRA_PAGES[role])]
        )  # in order, once each
        found, visited = [], []
        for url in pages:
            response = page.goto(url)
            visited.append(f"{url} {response.status}")
            problems = _violations(page)
            if problems:  # seen once more after a reload: a real problem, not a hiccup
                page.reload()
                problems = _violations(page)
            found += problems
        if role == "anonymous":  # keyboard focus on the dark menu bar is plain to see
            page.goto("/login")
            page.keyboard.press("Tab")  # the skip link
            page.keyboard.press("Tab")
            ring = page.evaluate(
                "() => { const s = getComputedStyle(document.activeElement);"
                " return [document.activeElement.className, s.outlineStyle, s.outlineWidth]; }"
            )
            assert "navbar-brand" in ring[0] and ring[1:] == ["solid", "3px"], ring
    finally:
        context.close()
    assert len(visited) >= 3, visited
    assert not found, "\n".join(found)


assert BROWSER_TESTS  # this file lives with the browser tests (marked `browser`)
