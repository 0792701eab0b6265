"""Accounts people can manage: password reset by e-mail (a real SMTP server, aiosmtpd)
or by an admin's one-time link, the admin's account page (role, deactivation), open
invitations, and two-factor sign-in for staff with TOTP codes and recovery codes."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp

from lms.auth.models import ApiToken, Invitation, PasswordReset, User, utcnow
from lms.extensions import db
from tests.conftest import PASSWORD
from tests.smtp_support import smtp_server  # noqa: F401 - the fixture

NEW_PASSWORD = "a brand new passphrase"
LINK = re.compile(r"https?://[^\s\"]+/password/reset/[\w-]+")


def sign_in(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def signed_in(client) -> bool:
    return client.get("/settings").status_code == 200


def test_password_reset_by_mail_works_once(app, make_user, smtp_server):  # noqa: F811
    app.config.update(LMS_SMTP_URL=smtp_server.url)
    make_user("ana@example.org")
    elsewhere = app.test_client()
    sign_in(elsewhere, "ana@example.org")
    client = app.test_client()

    form = client.get("/password/forgot")
    assert b"Send me a link" in form.data
    for address in ("ANA@example.org", "nobody@example.org"):
        answer = client.post("/password/forgot", data={"email": address}, follow_redirects=True)
        assert b"If an active account has that address" in answer.data
    (message,) = smtp_server.messages  # nothing is sent for an address without an account
    assert message["To"] == "ana@example.org"
    link = LINK.search(message.get_content()).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    assert client.get("/" + path).status_code == 200
    done = client.post("/" + path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert not signed_in(elsewhere), "the reset ends the account's other sessions"
    assert sign_in(client, "ana@example.org", NEW_PASSWORD).status_code == 302
    assert signed_in(client)

    again = app.test_client().post(
        "/" + path, data={"password": "yet another passphrase", "confirm": "yet another passphrase"}
    )
    assert again.status_code == 404 and b"does not work any more" in again.data
    assert sign_in(app.test_client(), "ana@example.org", NEW_PASSWORD).status_code == 302


def test_an_expired_or_replaced_link_is_refused(app, make_user):
    from lms.auth import password_reset

    user_id = make_user("ana@example.org")
    with app.app_context():
        user = db.session.get(User, user_id)
        first = password_reset.issue_link(user)
        second = password_reset.issue_link(user)
        db.session.execute(
            db.update(PasswordReset).values(expires_at=utcnow() - timedelta(minutes=1))
        )
        db.session.commit()
        third = password_reset.issue_link(user)
    client = app.test_client()
    body = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert client.post(f"/password/reset/{first}", data=body).status_code == 404  # replaced
    assert client.post(f"/password/reset/{second}", data=body).status_code == 404  # expired
    assert client.post(f"/password/reset/{third}", data=body).status_code == 302
    assert sign_in(client, "ana@example.org", NEW_PASSWORD).status_code == 302


def test_without_mail_people_ask_an_admin_who_makes_a_one_time_link(app, make_user, auth):
    ana = make_user("ana@example.org")
    make_user("admin@example.org", role="platform_admin")
    page = app.test_client().get("/password/forgot")
    assert b"Ask an administrator" in page.data and b"Send me a link" not in page.data

    auth.login("admin@example.org")
    made = auth.client.post(f"/admin/users/{ana}/reset-link")
    assert made.status_code == 200
    link = LINK.search(made.get_data(as_text=True)).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    with app.app_context():
        reset = db.session.scalar(db.select(PasswordReset))
        assert reset.created_by_id is not None and path.rsplit("/", 1)[1] not in reset.token_hash
    other = app.test_client()
    body = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert other.post(path, data=body).status_code == 302
    assert other.post(path, data=body).status_code == 404


def test_deactivation_ends_sessions_and_tokens_and_blocks_sign_in(app, make_user, auth):
    from lms.auth.services import issue_token

    ana = make_user("ana@example.org")
    make_user("admin@example.org", role="platform_admin")
    with app.app_context():
        token = issue_token(db.session.get(User, ana))
    trainee = app.test_client()
    sign_in(trainee, "ana@example.org")
    assert signed_in(trainee)
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/me/progress", headers=bearer).status_code == 200

    auth.login("admin@example.org")
    answer = auth.client.post(f"/admin/users/{ana}/deactivate", follow_redirects=True)
    assert b"Deactivated" in answer.data and b"1 API token(s) revoked" in answer.data

    page = trainee.get("/settings")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert app.test_client().get("/api/v1/me/progress", headers=bearer).status_code == 401
    refused = sign_in(app.test_client(), "ana@example.org")
    assert refused.status_code == 200 and b"do not match an active account" in refused.data
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0

    auth.client.post(f"/admin/users/{ana}/reactivate")
    assert sign_in(app.test_client(), "ana@example.org").status_code == 302


def test_an_admin_cannot_lock_the_platform_out(app, make_user, auth):
    admin = make_user("admin@example.org", role="platform_admin")
    auth.login("admin@example.org")
    own = auth.client.post(f"/admin/users/{admin}/deactivate", follow_redirects=True)
    assert b"cannot deactivate your own account" in own.data
    demoted = auth.client.post(
        f"/admin/users/{admin}",
        data={"name": "", "email": "admin@example.org", "role": "trainee"},
    )
    assert demoted.status_code == 422 and b"only active platform admin" in demoted.data
    with app.app_context():
        assert db.session.get(User, admin).is_platform_admin


def test_role_change_and_search(app, make_user, auth):
    ana = make_user("ana@example.org", name="Ana Tamm")
    make_user("bob@example.org", name="Bob Kask")
    make_user("admin@example.org", role="platform_admin")
    person = app.test_client()
    sign_in(person, "ana@example.org")
    assert person.get("/centres").status_code == 403

    auth.login("admin@example.org")
    found = auth.client.get("/admin/users?q=tamm").get_data(as_text=True)
    assert "ana@example.org" in found and "bob@example.org" not in found
    saved = auth.client.post(
        f"/admin/users/{ana}",
        data={"name": "Ana Tamm", "email": "ana@example.org", "role": "instructor"},
        follow_redirects=True,
    )
    assert "role: Trainee → Instructor saved" in saved.get_data(as_text=True)
    assert person.get("/centres").status_code == 200, "the role counts on the next page"
    instructors = auth.client.get("/admin/users?role=instructor").get_data(as_text=True)
    assert "ana@example.org" in instructors and "bob@example.org" not in instructors


def test_open_invitations_can_be_cancelled_or_given_a_new_link(app, make_user, auth):
    from lms.auth.services import invite

    make_user("admin@example.org", role="platform_admin")
    with app.app_context():
        old_token = invite("new@example.org", "trainee")
        invite("gone@example.org", "trainee")
        by_email = {i.email: i.id for i in db.session.scalars(db.select(Invitation))}
    auth.login("admin@example.org")
    listed = auth.client.get("/admin/users").get_data(as_text=True)
    assert "new@example.org" in listed and "gone@example.org" in listed

    renewed = auth.client.post(f"/admin/invitations/{by_email['new@example.org']}/link")
    link = re.search(r"https?://\S+/invite/[\w-]+", renewed.get_data(as_text=True)).group(0)
    assert app.test_client().get(f"/invite/{old_token}").status_code == 404
    assert app.test_client().get("/" + link.split("/", 3)[3]).status_code == 200

    cancelled = auth.client.post(
        f"/admin/invitations/{by_email['gone@example.org']}/cancel", follow_redirects=True
    )
    assert b"is cancelled" in cancelled.data
    listed = auth.client.get("/admin/users").get_data(as_text=True)
    assert "gone@example.org" not in listed
    with app.app_context():
        assert db.session.get(Invitation, by_email["gone@example.org"]) is None


def _secret(app, user_id):
    with app.app_context():
        return db.session.get(User, user_id).totp_secret


def test_two_factor_sign_in_with_codes_and_a_recovery_code(app, make_user):
    staff = make_user("staff@example.org", role="instructor")
    client = app.test_client()
    sign_in(client, "staff@example.org")
    client.post("/settings/two-factor", data={"action": "start", "check-password": PASSWORD})
    totp = pyotp.TOTP(_secret(app, staff))
    wrong = client.post(
        "/settings/two-factor", data={"action": "confirm", "confirm-code": "000000"}
    )
    assert b"That code is not right" in wrong.data
    shown = client.post(
        "/settings/two-factor", data={"action": "confirm", "confirm-code": totp.now()}
    ).get_data(as_text=True)
    codes = re.findall(r"\b[0-9a-f]{5}-[0-9a-f]{5}\b", shown)
    assert len(codes) == 10
    assert codes[0] not in client.get("/settings/two-factor").get_data(as_text=True)

    fresh = app.test_client()
    first_step = sign_in(fresh, "staff@example.org")
    assert first_step.headers["Location"].endswith("/login/two-factor")
    assert not signed_in(fresh), "the password alone does not sign in"
    refused = fresh.post("/login/two-factor", data={"code": "123456"})
    assert b"not right" in refused.data and not signed_in(fresh)
    # The code used to switch it on was taken: the next time step's code signs in.
    code = totp.at(totp.timecode(totp_now()) * 30 + 30)
    assert fresh.post("/login/two-factor", data={"code": code}).status_code == 302
    assert signed_in(fresh)

    replay = app.test_client()
    sign_in(replay, "staff@example.org")
    assert b"not right" in replay.post("/login/two-factor", data={"code": code}).data

    by_recovery = app.test_client()
    sign_in(by_recovery, "staff@example.org")
    used = by_recovery.post("/login/two-factor", data={"code": codes[3].upper()})
    assert used.status_code == 302 and signed_in(by_recovery)
    again = app.test_client()
    sign_in(again, "staff@example.org")
    assert b"not right" in again.post("/login/two-factor", data={"code": codes[3]}).data


def test_wrong_codes_are_throttled(app, make_user):
    from lms.auth import two_factor

    staff = make_user("staff@example.org", role="centre_admin")
    with app.app_context():
        user = db.session.get(User, staff)
        two_factor.start(user)
        two_factor.confirm(user, pyotp.TOTP(user.totp_secret).now())
    client = app.test_client()
    sign_in(client, "staff@example.org")
    answers = [client.post("/login/two-factor", data={"code": "000000"}) for _ in range(7)]
    assert answers[-1].status_code == 429 and "Retry-After" in answers[-1].headers


def test_trainees_have_no_two_factor_page(client, trainee):
    assert client.get("/settings/two-factor").status_code == 404


def totp_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_the_forgot_password_form_is_rate_limited_and_the_429_page_offers_sign_in(tmp_path):
    from lms import create_app
    from tests.conftest import reset_schema, test_config

    app = create_app(test_config(tmp_path, RATELIMIT_ENABLED=True))
    with app.app_context():
        reset_schema()
    client = app.test_client()
    answers = [client.post("/password/forgot", data={"email": "x@example.org"}) for _ in range(11)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    page = answers[10].get_data(as_text=True)
    assert answers[10].status_code == 429
    assert "Go to your dashboard" not in page and "Back to sign in" in page
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
