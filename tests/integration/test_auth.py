from datetime import timedelta

from lms.auth import services
from lms.auth.models import Invitation, User, utcnow
from lms.extensions import db
from tests.conftest import PASSWORD, test_config


def test_sign_in_and_out(client, make_user, auth):
    make_user("ana@example.org")
    response = auth.login("ana@example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert b"Welcome" in client.get("/").data
    auth.logout()
    assert client.get("/").status_code == 302


def test_passwords_are_stored_with_scrypt(app, make_user, monkeypatch):
    """Production's method: the suite hashes test passwords cheaply (tests/conftest.py)."""
    from werkzeug.security import generate_password_hash

    from lms.auth import models

    monkeypatch.setattr(models, "generate_password_hash", generate_password_hash)
    user_id = make_user("scrypt@example.org")
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password(PASSWORD) and not user.check_password("wrong")


def test_wrong_password_gets_a_clear_message(client, make_user, auth):
    make_user("ana@example.org")
    page = auth.login("ana@example.org", "nope", follow=True)
    assert b"do not match an active account" in page.data


def test_email_is_normalised_so_one_person_has_one_account(app, client, make_user, auth):
    make_user("  Ana.Lee@Example.ORG ")
    with app.app_context():
        assert db.session.scalar(db.select(User.email)) == "ana.lee@example.org"
        try:
            services.create_user("ana.lee@example.org", PASSWORD)
        except services.AccountError as exc:
            assert "already exists" in str(exc)
        else:
            raise AssertionError("a second account was created")
    assert auth.login(" ANA.LEE@example.org").status_code == 302


def test_disabled_account_cannot_sign_in(app, make_user, auth):
    user_id = make_user("gone@example.org")
    with app.app_context():
        db.session.get(User, user_id).is_active_account = False
        db.session.commit()
    assert auth.login("gone@example.org").status_code == 200


def test_csrf_token_is_required(tmp_path):
    from lms import create_app

    app = create_app(test_config(tmp_path, WTF_CSRF_ENABLED=True))
    with app.app_context():
        db.create_all()
    response = app.test_client().post("/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 400
    assert b"Reload the page" in response.data


def test_session_cookie_flags_and_security_headers(client, make_user, auth):
    make_user("ana@example.org")
    response = auth.login("ana@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/login")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"


def test_open_redirect_is_refused(make_user, auth, client):
    make_user("ana@example.org")
    response = client.post(
        "/login?next=//evil.example/x", data={"email": "ana@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/"


def test_self_registration_is_off_by_default_and_can_be_opened(app, client, make_user, auth):
    response = client.get("/register", follow_redirects=True)
    assert b"Self-registration is closed" in response.data
    make_user("root@example.org", role="platform_admin")
    auth.login("root@example.org")
    client.post("/admin/users", data={"reg-open": "y", "reg-submit": "Save"})
    auth.logout()
    form = {
        "name": "New Person",
        "email": "New@Example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    response = client.post("/register", data=form)
    assert response.status_code == 302
    with app.app_context():
        assert services.find_user_by_email("new@example.org").role == "trainee"


def test_invitation_link_is_single_use_and_expires(app, client):
    with app.app_context():
        token = services.invite("invitee@example.org", "instructor")
        expired = services.invite("late@example.org", "trainee")
        invitation = services.find_invitation(expired)
        invitation.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    form = {"name": "Invitee", "password": PASSWORD, "confirm": PASSWORD}
    assert client.post(f"/invite/{token}", data=form).status_code == 302
    with app.app_context():
        assert services.find_user_by_email("invitee@example.org").role == "instructor"
        assert db.session.scalar(
            db.select(Invitation).where(Invitation.email == "invitee@example.org")
        ).used_at
    client.post("/logout")
    assert client.get(f"/invite/{token}").status_code == 404
    assert client.get(f"/invite/{expired}").status_code == 404
    assert client.get("/invite/not-a-token").status_code == 404


def test_admin_creates_users_and_invitations_in_the_browser(app, client, make_user, auth):
    make_user("root@example.org", role="platform_admin")
    auth.login("root@example.org")
    response = client.post(
        "/admin/users",
        data={
            "create-email": "New.Instructor@example.org",
            "create-name": "New",
            "create-role": "instructor",
            "create-password": PASSWORD,
            "create-submit": "Create",
        },
        follow_redirects=True,
    )
    assert b"Account created for new.instructor@example.org" in response.data
    response = client.post(
        "/admin/users",
        data={
            "invite-email": "guest@example.org",
            "invite-role": "trainee",
            "invite-submit": "Invite",
        },
        follow_redirects=True,
    )
    assert b"/invite/" in response.data
    duplicate = client.post(
        "/admin/users",
        data={
            "create-email": "new.instructor@example.org",
            "create-role": "trainee",
            "create-password": PASSWORD,
            "create-submit": "Create",
        },
    )
    assert b"already exists" in duplicate.data


def test_only_platform_admins_manage_users(client, trainee):
    assert client.get("/admin/users").status_code == 403


def test_api_tokens_from_the_settings_page(app, client, trainee):
    page = client.post("/settings", data={"token-label": "script", "token-submit": "Create"})
    assert b"lms_" in page.data
    token = page.data.split(b'id="new-token" class="user-select-all">')[1].split(b"<")[0].decode()
    client.post("/logout")
    other = app.test_client()
    assert (
        other.get("/api/v1/me/progress", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert (
        other.get("/api/v1/me/progress", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )


def test_password_change(client, trainee, auth):
    response = client.post(
        "/settings",
        data={
            "password-current": PASSWORD,
            "password-password": "a much newer secret",
            "password-confirm": "a much newer secret",
            "password-submit": "Change",
        },
        follow_redirects=True,
    )
    assert b"Your password is changed" in response.data
    auth.logout()
    assert auth.login(password="a much newer secret").status_code == 302
