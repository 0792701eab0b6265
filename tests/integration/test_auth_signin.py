"""Signing in as a class does, and as a guesser does: only failures are throttled, per
account (a growing delay) and per client address (a limit), with the counts in the
database; proxies are trusted only when configured; ``next`` and ``/logout`` never 500."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta

import pytest

from lms import create_app
from lms.auth import throttle
from lms.auth.services import create_user
from lms.extensions import db
from tests.conftest import PASSWORD, ROOT, reset_schema, test_config

CLASS_SIZE = 40


@pytest.fixture
def production_app(tmp_path):
    """make(**config) -> an app with Flask-Limiter on, as in production."""
    made = []

    def make(**overrides):
        app = create_app(test_config(tmp_path, RATELIMIT_ENABLED=True, **overrides))
        with app.app_context():
            if not made:
                reset_schema()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def clock(monkeypatch):
    """The throttle's idea of now, moved by hand: delays are checked without sleeping."""
    now = [datetime(2026, 1, 5, 9, 0, 0)]
    monkeypatch.setattr(throttle, "utcnow", lambda: now[0])

    class Clock:
        def advance(self, seconds: float) -> None:
            now[0] += timedelta(seconds=seconds)

    return Clock()


def add_users(app, *emails: str) -> None:
    with app.app_context():
        for email in emails:
            create_user(email, PASSWORD)
        db.session.commit()


def sign_in(client, email, password=PASSWORD, address="192.0.2.10", **kwargs):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
        **kwargs,
    )


def test_a_class_behind_one_address_signs_in_at_once(production_app):
    app = production_app()
    trainees = [f"trainee{n}@example.org" for n in range(CLASS_SIZE)]
    add_users(app, *trainees)
    for email in trainees:  # one classroom NAT: every request from the same address
        response = sign_in(app.test_client(), email)
        assert response.status_code == 302, f"{email} was refused: {response.status_code}"


def test_a_few_typos_in_a_class_do_not_hold_anyone_up(production_app):
    app = production_app()
    trainees = [f"trainee{n}@example.org" for n in range(12)]
    add_users(app, *trainees)
    for email in trainees:
        client = app.test_client()
        assert sign_in(client, email, "a typo in it").status_code == 200
        assert sign_in(client, email).status_code == 302


def test_guessing_one_account_waits_longer_and_longer_up_to_a_cap(production_app, clock):
    app = production_app()
    add_users(app, "admin@example.org")
    client = app.test_client()
    free = app.config["LMS_LOGIN_FREE_FAILURES"]
    for _ in range(free):
        page = sign_in(client, "admin@example.org", "guess")
        assert page.status_code == 200 and b"do not match" in page.data

    waits = []
    for _ in range(9):
        refused = sign_in(client, "admin@example.org", "guess")
        assert refused.status_code == 429
        waits.append(int(refused.headers["Retry-After"]))
        assert f"Wait {waits[-1]} second".encode() in refused.data
        clock.advance(waits[-1])
        assert sign_in(client, "admin@example.org", "guess").status_code == 200
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]

    # During a wait even the right password is refused (a guess would learn nothing) ...
    assert sign_in(client, "admin@example.org").status_code == 429
    # ... and after it, the owner signs in, which ends the run of failures.
    clock.advance(60)
    assert sign_in(client, "admin@example.org").status_code == 302
    assert sign_in(app.test_client(), "admin@example.org", "guess").status_code == 200


def test_an_attacker_on_many_addresses_keeps_the_admin_out_for_a_minute_at_most(
    production_app, clock
):
    app = production_app()
    add_users(app, "admin@example.org")
    attacker = app.test_client()
    for n in range(30):  # a guess from a new address, and another when a wait ends
        response = sign_in(attacker, "admin@example.org", "guess", address=f"198.51.100.{n}")
        if response.status_code == 429:
            clock.advance(int(response.headers["Retry-After"]))
            again = sign_in(attacker, "admin@example.org", "guess", address=f"198.51.100.{n}")
            assert again.status_code == 200
    admin = app.test_client()
    refused = sign_in(admin, "admin@example.org", address="192.0.2.1")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) <= app.config["LMS_LOGIN_MAX_DELAY"]
    clock.advance(int(refused.headers["Retry-After"]))
    assert sign_in(admin, "admin@example.org", address="192.0.2.1").status_code == 302


def test_guessing_from_one_address_is_limited_with_how_long_to_wait(production_app, clock):
    app = production_app()
    add_users(app, "ana@example.org")
    limit = app.config["LMS_LOGIN_FAILURES_PER_ADDRESS"]
    client = app.test_client()
    for n in range(limit):  # a different account each time: only the address adds up
        assert sign_in(client, f"user{n}@example.org", "guess").status_code == 200
    refused = sign_in(client, "ana@example.org")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "600"
    assert b"Too many failed sign-ins from your network. Wait 10 minutes" in refused.data
    assert b'name="email"' in refused.data  # the form is still there to try again
    # Another address is not held up.
    assert sign_in(app.test_client(), "ana@example.org", address="192.0.2.99").status_code == 302
    clock.advance(600)
    assert sign_in(client, "ana@example.org").status_code == 302


def test_failure_counts_are_shared_by_every_worker(production_app, tmp_path):
    """Failures made by another process (another gunicorn worker) count here too."""
    app = production_app()
    limit = app.config["LMS_LOGIN_FAILURES_PER_ADDRESS"]
    worker = textwrap.dedent(
        f"""
        from lms import create_app
        from tests.conftest import test_config
        from pathlib import Path

        app = create_app(test_config(Path({str(tmp_path)!r}), RATELIMIT_ENABLED=True))
        client = app.test_client()
        for n in range({limit}):
            response = client.post(
                "/login",
                data={{"email": f"user{{n}}@example.org", "password": "guess"}},
                environ_base={{"REMOTE_ADDR": "203.0.113.7"}},
            )
            assert response.status_code == 200, response.status_code
        """
    )
    subprocess.run([sys.executable, "-c", worker], check=True, timeout=300, cwd=ROOT)
    refused = sign_in(app.test_client(), "someone@example.org", address="203.0.113.7")
    assert refused.status_code == 429


def test_forwarded_for_is_ignored_unless_a_proxy_is_trusted(production_app, clock):
    app = production_app()
    limit = app.config["LMS_LOGIN_FAILURES_PER_ADDRESS"]
    client = app.test_client()
    for n in range(limit):  # a guesser that makes up a new address for every attempt
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert sign_in(client, f"u{n}@example.org", "guess", headers=headers).status_code == 200
    refused = sign_in(
        client, "x@example.org", "guess", headers={"X-Forwarded-For": "198.51.100.250"}
    )
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "600"


def test_a_trusted_proxy_passes_on_each_client_address(production_app):
    app = production_app(LMS_TRUSTED_PROXIES=1)
    add_users(app, "ana@example.org")
    limit = app.config["LMS_LOGIN_FAILURES_PER_ADDRESS"]
    proxy = "127.0.0.1"
    guesser = {"X-Forwarded-For": "198.51.100.66"}
    for n in range(limit):
        response = sign_in(app.test_client(), f"u{n}@example.org", "g", proxy, headers=guesser)
        assert response.status_code == 200
    assert (
        sign_in(app.test_client(), "x@example.org", "g", proxy, headers=guesser).status_code == 429
    )
    # Everyone else behind the same proxy signs in.
    other = {"X-Forwarded-For": "192.0.2.44"}
    assert (
        sign_in(app.test_client(), "ana@example.org", address=proxy, headers=other).status_code
        == 302
    )


def test_other_limits_still_hold(production_app):
    app = production_app(LMS_SELF_REGISTRATION=True)
    client = app.test_client()
    statuses = [
        client.post("/register", data={"name": "x", "email": "not an address"}).status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


@pytest.mark.parametrize(
    "target",
    [
        "/catalog\r\nSet-Cookie: evil=1",
        "/catalog\nX: y",
        "/cat\talog",
        "/\\evil.example/",
    ],
)
def test_next_with_control_characters_is_dropped(client, make_user, auth, target):
    make_user("ana@example.org")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "ana@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302 and again.headers["Location"] == "/"
    assert "evil" not in again.headers.get("Set-Cookie", "")


def test_next_on_this_site_is_still_followed(client, make_user):
    make_user("ana@example.org")
    response = client.post(
        "/login?next=/catalog?page=2", data={"email": "ana@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/catalog?page=2"


def test_get_logout_offers_the_button_instead_of_an_error(client, trainee):
    page = client.get("/logout")
    assert page.status_code == 200
    assert b'action="/logout"' in page.data and b"Sign out" in page.data
    assert client.get("/").status_code == 200  # looking at the page signs nobody out
    client.post("/logout")
    assert client.get("/logout").headers["Location"].startswith("/login")
