"""Sessions, cookies and API tokens: Secure cookies over HTTPS, no caching of personal
pages, sessions that end on a password change or a sign-out (copies included), tokens the
user sees and revokes, and a "last used" that never fails a read."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import text

from lms import create_app
from lms.auth.models import ApiToken, User, utcnow
from lms.extensions import db
from tests.conftest import PASSWORD, reset_schema, test_config

NEW_PASSWORD = "a much newer secret"
HTTPS_PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.5"}


@pytest.fixture
def make_app(tmp_path):
    made = []

    def make(**overrides):
        app = create_app(test_config(tmp_path, **overrides))
        with app.app_context():
            reset_schema()
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def add_user(app, email="ana@example.org"):
    from lms.auth.services import create_user

    with app.app_context():
        user = create_user(email, PASSWORD)
        db.session.commit()
        return user.id


def sign_in(client, email="ana@example.org", remember=False, **kwargs):
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/login", data=data, **kwargs)


def set_cookies(response) -> dict[str, str]:
    """Cookie name -> its Set-Cookie header."""
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


# -- cookies and headers -------------------------------------------------------------


def test_cookies_are_secure_behind_a_trusted_https_proxy(make_app):
    app = make_app(LMS_TRUSTED_PROXIES=1)
    add_user(app)
    response = sign_in(app.test_client(), remember=True, headers=HTTPS_PROXY)
    cookies = set_cookies(response)
    assert "; Secure" in cookies["session"] and "; Secure" in cookies["remember_token"]
    assert "HttpOnly" in cookies["session"] and "HttpOnly" in cookies["remember_token"]
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_an_untrusted_forwarded_proto_changes_nothing(make_app):
    app = make_app()
    add_user(app)
    response = sign_in(app.test_client(), remember=True, headers=HTTPS_PROXY)
    assert "Secure" not in set_cookies(response)["session"]
    assert "Strict-Transport-Security" not in response.headers


def test_cookie_secure_setting_forces_the_flag_on_plain_http(make_app):
    app = make_app(LMS_COOKIE_SECURE=True)
    add_user(app)
    cookies = set_cookies(sign_in(app.test_client(), remember=True))
    assert "; Secure" in cookies["session"] and "; Secure" in cookies["remember_token"]


def test_pages_with_personal_data_are_not_stored(app, client, trainee):
    for url in ("/", "/settings"):
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    with app.app_context():
        from lms.auth.services import issue_token

        token = issue_token(db.session.get(User, trainee))
    api = app.test_client().get("/api/v1/me/progress", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    static = client.get("/static/favicon.svg")
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()


# -- sessions end ---------------------------------------------------------------------


def test_a_password_change_ends_every_other_session_and_remember_me_cookie(app, make_user):
    make_user("ana@example.org")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, remember=True)
    sign_in(phone, remember=True)
    remembered = phone.get_cookie("remember_token").value
    stolen = app.test_client()  # only the remember-me cookie, as a thief would have it
    stolen.set_cookie("remember_token", remembered)
    assert stolen.get("/settings").status_code == 200

    changed = laptop.post(
        "/settings",
        data={
            "password-current": PASSWORD,
            "password-password": NEW_PASSWORD,
            "password-confirm": NEW_PASSWORD,
            "password-submit": "Change",
        },
        follow_redirects=True,
    )
    assert b"other sessions are signed out" in changed.data
    assert laptop.get("/settings").status_code == 200  # this session carries on

    for client in (phone, stolen):
        assert client.get("/settings").headers["Location"].startswith("/login")
    late = app.test_client()
    late.set_cookie("remember_token", remembered)
    assert late.get("/settings").status_code == 302


def test_a_copied_session_cookie_dies_with_the_sign_out(app, make_user):
    make_user("ana@example.org")
    browser = app.test_client()
    sign_in(browser)
    copy = app.test_client()
    copy.set_cookie("session", browser.get_cookie("session").value)
    assert copy.get("/settings").status_code == 200

    browser.post("/logout")
    assert copy.get("/settings").headers["Location"].startswith("/login")
    # Signing in again works, with a new session.
    assert sign_in(browser).status_code == 302
    assert browser.get("/settings").status_code == 200


def test_sign_out_everywhere_from_the_settings_page(app, make_user):
    make_user("ana@example.org")
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here)
    sign_in(elsewhere, remember=True)
    page = here.get("/settings")
    assert b"Sign out everywhere" in page.data
    here.post("/logout")
    assert elsewhere.get("/settings").status_code == 302


# -- API tokens -----------------------------------------------------------------------


def new_token(client, label="backup script") -> str:
    page = client.post("/settings", data={"token-label": label, "token-submit": "Create"})
    return page.data.split(b'id="new-token" class="user-select-all">')[1].split(b"<")[0].decode()


def api_get(app, token):
    return app.test_client().get(
        "/api/v1/me/progress", headers={"Authorization": f"Bearer {token}"}
    )


def test_the_settings_page_lists_tokens_without_their_secret_and_revokes_them(app, client, trainee):
    token = new_token(client)
    assert api_get(app, token).status_code == 200
    page = client.get("/settings").data.decode()
    assert "backup script" in page and "Revoke" in page
    assert token not in page  # shown once, when made, never again
    with app.app_context():
        token_id = db.session.scalar(db.select(ApiToken.id))
    client.post(f"/settings/tokens/{token_id}/revoke")
    assert api_get(app, token).status_code == 401


@pytest.mark.parametrize("revoke", [True, False])
def test_a_password_change_offers_to_revoke_the_tokens(app, client, trainee, revoke):
    token = new_token(client)
    form = {
        "password-current": PASSWORD,
        "password-password": NEW_PASSWORD,
        "password-confirm": NEW_PASSWORD,
        "password-submit": "Change",
    }
    assert b"Also revoke my API tokens" in client.get("/settings").data
    if revoke:
        form["password-revoke_tokens"] = "y"
    page = client.post("/settings", data=form, follow_redirects=True)
    assert (b"1 API token(s) revoked" in page.data) is revoke
    assert api_get(app, token).status_code == (401 if revoke else 200)


def test_last_used_is_written_at_most_every_few_minutes(app, client, trainee):
    token = new_token(client)
    assert api_get(app, token).status_code == 200
    with app.app_context():
        first = db.session.scalar(db.select(ApiToken.last_used_at))
        assert first is not None
        recent = utcnow() - timedelta(minutes=1)
        db.session.execute(db.update(ApiToken).values(last_used_at=recent))
        db.session.commit()
    api_get(app, token)
    with app.app_context():
        assert db.session.scalar(db.select(ApiToken.last_used_at)) == recent
        db.session.execute(db.update(ApiToken).values(last_used_at=utcnow() - timedelta(hours=1)))
        db.session.commit()
    api_get(app, token)
    with app.app_context():
        assert db.session.scalar(db.select(ApiToken.last_used_at)) > recent


def refuse_token_writes() -> None:
    """Make the database itself refuse every write to api_tokens, as a full disk would."""
    if db.engine.dialect.name == "postgresql":
        statements = [
            "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$",
            "CREATE TRIGGER refuse_token_writes BEFORE UPDATE ON api_tokens "
            "FOR EACH ROW EXECUTE FUNCTION refuse_write()",
        ]
    else:
        statements = [
            "CREATE TRIGGER refuse_token_writes BEFORE UPDATE ON api_tokens "
            "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
        ]
    with db.engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))


def test_an_api_read_answers_even_when_last_used_cannot_be_written(app, client, trainee, caplog):
    token = new_token(client)
    with app.app_context():
        refuse_token_writes()
    with caplog.at_level(logging.WARNING):
        response = api_get(app, token)
    assert response.status_code == 200, response.data
    assert response.json["user"]["role"] == "trainee"
    assert "could not note the use of API token" in caplog.text
    with app.app_context():
        assert db.session.scalar(db.select(ApiToken.last_used_at)) is None
