"""Addresses that read as an existing account's are refused, wherever accounts are made:
the command line, the admin page, invitations, self-registration."""

from __future__ import annotations

import pytest

from lms.auth import services
from lms.auth.models import Invitation
from lms.extensions import db
from tests.conftest import PASSWORD
from tests.programme import EMAILS

ADMIN = "admin@example.org"

LOOK_ALIKES = {
    "cyrillic a": "\u0430dmin@example.org",  # аdmin
    "full-width letters": "\uff41\uff44\uff4d\uff49\uff4e@example.org",  # ａｄｍｉｎ
    "combining mark": "ad\u0323min@example.org",  # aḍmin
    "accent": "\u00e1dmin@example.org",  # ádmin
    "dotless i": "adm\u0131n@example.org",  # admın
    "upper case": "ADMIN@Example.org",
    "rn for m": "adrnin@example.org",
    "cyrillic in the domain": "admin@ex\u0430mple.org",
    "greek omicron": "ad\u03bfmin@example.org",
}


@pytest.fixture
def admin(make_user):
    return make_user(ADMIN, role="platform_admin")


@pytest.mark.parametrize("address", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_a_look_alike_of_an_existing_account_is_refused(app, admin, address):
    with app.app_context():
        with pytest.raises(services.AccountError) as refused:
            services.create_user(address, PASSWORD)
        db.session.rollback()
        assert ADMIN in str(refused.value) or "alphabets" in str(refused.value)
        assert db.session.scalar(db.select(db.func.count()).select_from(services.User)) == 1


def test_mixed_alphabets_are_refused_even_without_a_twin(app):
    with app.app_context(), pytest.raises(services.AccountError, match="mixes alphabets"):
        services.create_user("p\u0430ypal@example.org", PASSWORD)  # Cyrillic а


def test_addresses_that_only_share_letters_are_fine(app, admin):
    with app.app_context():
        for address in ("adnan@example.org", "admin2@example.org", "иван@example.org"):
            services.create_user(address, PASSWORD)
        db.session.commit()


def test_full_width_sign_in_finds_the_account(admin, auth):
    assert auth.login("\uff21\uff24\uff2d\uff29\uff2e@example.org").status_code == 302


def test_the_command_line_refuses_a_look_alike(admin, runner):
    result = runner.invoke(
        args=["users", "create", LOOK_ALIKES["dotless i"], "--password", PASSWORD]
    )
    assert result.exit_code == 1 and "looks like the existing account" in result.output


def test_the_admin_page_refuses_a_look_alike_account_and_invitation(client, admin, auth):
    auth.login(ADMIN)
    created = client.post(
        "/admin/users",
        data={
            "create-email": LOOK_ALIKES["cyrillic a"],
            "create-role": "platform_admin",
            "create-password": PASSWORD,
            "create-submit": "Create",
        },
    )
    assert b"mixes alphabets" in created.data
    invited = client.post(
        "/admin/users",
        data={
            "invite-email": LOOK_ALIKES["accent"],
            "invite-role": "platform_admin",
            "invite-submit": "Invite",
        },
    )
    assert b"looks like the existing account" in invited.data and b"/invite/" not in invited.data


def test_self_registration_refuses_a_look_alike(app, client, admin):
    app.config["LMS_SELF_REGISTRATION"] = True
    form = {
        "name": "Not The Admin",
        "email": LOOK_ALIKES["combining mark"],
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    page = client.post("/register", data=form)
    assert page.status_code == 200 and b"looks like the existing account" in page.data


def test_an_invitation_made_before_the_twin_existed_cannot_be_accepted(app, client, make_user):
    with app.app_context():
        token = services.invite("adm\u0131n@example.org", "trainee")
    make_user(ADMIN, role="platform_admin")
    page = client.post(
        f"/invite/{token}", data={"name": "x", "password": PASSWORD, "confirm": PASSWORD}
    )
    assert page.status_code == 200 and b"looks like the existing account" in page.data


def test_a_roster_import_refuses_a_look_alike_row_and_changes_nothing(
    app, client, login_as, programme
):
    import io

    login_as("admin_a")
    twin = EMAILS["t_a1"].replace("a1", "\u04301")  # t-а1@… with a Cyrillic а
    lookalike_of_admin = "adm\u0131n@example.org"  # admın@…
    content = f"email,name\nnew.one@example.org,New One\n{twin},Twin\n{lookalike_of_admin},X\n"
    response = client.post(
        f"/cohorts/{programme.cohorts['a1']}/roster",
        data={"roster-file": (io.BytesIO(content.encode()), "trainees.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True).replace("&#39;", "'")
    assert response.status_code == 400 and "Nothing was changed" in page
    assert "mixes alphabets" in page
    assert f"looks like the existing account {EMAILS['admin']}" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Invitation)) == 0
