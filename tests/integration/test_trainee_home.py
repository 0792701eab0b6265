"""The trainee's home (assigned courses, due dates, overdue first), their calendar feed
(content, secrecy, reset) and the catalogue's full-text search, on the database in use
(SQLite FTS5, or PostgreSQL full-text search with LMS_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from icalendar import Calendar

from lms.auth.models import User, utcnow
from lms.catalog.models import Course
from lms.extensions import db
from tests.conftest import PASSWORD, ROOT, reset_schema, test_config


@pytest.fixture
def assigned(app, courses, trainee):
    """The trainee in a cohort that has the demo course, overdue by three days."""
    from lms.centres import services
    from lms.centres.models import CohortMember

    with app.app_context():
        centre = services.create_centre("Home Centre")
        cohort = services.create_cohort(centre, "Blue team 2026")
        course = db.session.scalar(db.select(Course).where(Course.slug == "demo-course"))
        services.assign_course(cohort, course.id, (utcnow() - timedelta(days=3)).date())
        db.session.add(CohortMember(cohort_id=cohort.id, user_id=trainee))
        db.session.commit()
    return trainee


def calendar_address(client) -> str:
    page = client.get("/").get_data(as_text=True)
    url = re.search(r'id="calendar-url" type="text" value="([^"]+)"', page).group(1)
    return url.replace("http://localhost", "")


def test_home_shows_the_overdue_assignment_and_the_calendar_feed_is_secret(app, client, assigned):
    page = client.get("/").get_data(as_text=True)
    assigned_at = page.index('id="assigned-h"')
    assert page.index('data-course="demo-course" data-state="overdue"') > assigned_at
    assert "Overdue: was due" in page and "(3 days ago)" in page
    assert "Blue team 2026" in page
    assert "Start here" in page  # nothing started yet: the assignment is where to begin

    # The calendar feed of the due dates, at the address the home page gives.
    address = calendar_address(client)
    client.post("/logout")  # calendar programs sign in to nothing: the token is the key
    feed = client.get(address)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    events = Calendar.from_ical(feed.data).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Due: Demo course for tests"]
    assert events[0].decoded("dtstart") == (utcnow() - timedelta(days=3)).date()

    user_id, token = re.search(r"/calendar/(\d+)/(\w+)\.ics", address).groups()
    assert client.get(f"/calendar/{user_id}/{token[:-1]}0.ics").status_code == 404
    assert client.get(f"/calendar/{int(user_id) + 1}/{token}.ics").status_code == 404

    client.post("/login", data={"email": "trainee@example.org", "password": PASSWORD})
    assert client.post("/calendar/reset").status_code == 302
    assert client.get(address).status_code == 404  # the old address stops working
    new_address = calendar_address(client)
    assert new_address != address and client.get(new_address).status_code == 200

    with app.app_context():
        db.session.get(User, assigned).is_active_account = False
        db.session.commit()
    assert client.get(new_address).status_code == 404  # a disabled account has no feed


@pytest.fixture(scope="module")
def search_client(tmp_path_factory):
    """A signed-in trainee's client on an app with the shipped courses synced: built once
    for the search tests (importing the shipped courses takes seconds)."""
    from lms import create_app
    from lms.auth.services import create_user
    from lms.catalog.services import sync_courses

    app = create_app(test_config(tmp_path_factory.mktemp("search")))
    with app.app_context():
        reset_schema()
        report = sync_courses(ROOT / "courses")
        assert not report.issues, report.issues
        create_user("searcher@example.org", PASSWORD, role="trainee")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": "searcher@example.org", "password": PASSWORD})
    yield client
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(
    ("query", "course", "module"),
    [
        ("sql", "web-security-owasp", "injection"),
        ("grep", "linux-fundamentals", "files-and-text"),
        ("linux shell", "linux-fundamentals", "the-shell"),
        ("Injec", "web-security-owasp", "injection"),  # a word's start is enough
    ],
)
def test_catalogue_search_finds_words_anywhere_ranked_with_modules(
    search_client, query, course, module
):
    page = search_client.get("/catalogue", query_string={"q": query}).get_data(as_text=True)
    found = re.findall(r'class="card h-100 course-card" data-course="([^"]+)"', page)
    assert found and found[0] == course, found
    card = page[page.index(f'data-course="{course}"') :]
    card = card[: card.find("</article>")]
    assert f'data-module="{module}"' in card
    assert 'href="/catalogue?tag=' in card  # tags are links


def test_search_needs_every_word_and_ignores_query_syntax(search_client):
    page = search_client.get("/catalogue?q=grep+xyzzyplugh").get_data(as_text=True)
    assert "No course matches" in page
    for odd in ('"', "NEAR(", "a* OR", "'; DROP", ":*&|!", "the"):
        assert search_client.get("/catalogue", query_string={"q": odd}).status_code == 200


def test_a_reindexed_course_is_searched_in_its_new_text(search_client):
    from lms.catalog import search

    client = search_client
    with client.application.app_context():
        course = db.session.scalar(db.select(Course).where(Course.slug == "incident-response"))
        course.modules[0].body_html = "<p>zanzibarium appears here</p>"
        search.index_course(course)
        db.session.commit()
    assert 'data-course="incident-response"' in client.get("/catalogue?q=zanzibarium").text
    assert "No course matches" in client.get("/catalogue?q=lifecycle+zzzq").text
