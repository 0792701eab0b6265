"""Adding trainees: post-redirect-get, links to copy again, the name carried over, one
validity for every invitation, and the invitation e-mailed through a real SMTP server."""

from __future__ import annotations

import re
from datetime import timedelta

from lms.auth.models import Invitation
from lms.extensions import db
from tests.smtp_support import smtp_server  # noqa: F401 - the fixture


def _add(client, cohort_id, email, name=""):
    return client.post(
        f"/cohorts/{cohort_id}/trainees", data={"add-email": email, "add-name": name}
    )


def test_add_redirects_to_a_clean_form_and_the_link_can_be_copied_again(
    app, client, login_as, programme
):
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    response = _add(client, a1, "ana@example.org", "Ana Silva")
    assert response.status_code == 302  # reloading the page that follows adds nobody again
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="ana@example.org"' not in page and 'value="Ana Silva"' not in page
    link = re.search(r'id="invited-link">([^<]+)<', page).group(1)
    assert 'data-copy-target="#invited-link"' in page
    # Later, the pending list still offers the same link to copy.
    later = client.get(f"/cohorts/{a1}").get_data(as_text=True)
    assert link in later and "Copy link" in later
    with app.app_context():
        (invitation,) = db.session.query(Invitation).filter_by(email="ana@example.org").all()
        days = app.config["LMS_INVITATION_DAYS"]
        assert invitation.expires_at - invitation.created_at == timedelta(days=days)
    # The invitee's form starts with the name the admin typed.
    client.post("/logout")
    form = client.get(link.split("localhost", 1)[1]).get_data(as_text=True)
    assert 'value="Ana Silva"' in form


def test_users_page_invitations_last_as_long_as_cohort_ones(app):
    from lms.auth import services

    app.config["LMS_INVITATION_DAYS"] = 3
    with app.app_context():
        services.invite("someone@example.org", "instructor")
        invitation = db.session.query(Invitation).filter_by(email="someone@example.org").one()
        assert invitation.expires_at - invitation.created_at == timedelta(days=3)


def test_an_invitation_is_e_mailed_and_its_link_signs_the_trainee_up(
    app,
    client,
    login_as,
    programme,
    smtp_server,  # noqa: F811
):
    app.config.update(LMS_SMTP_URL=smtp_server.url, LMS_MAIL_FROM="range@example.org")
    login_as("admin_a")
    a1 = programme.cohorts["a1"]
    page = client.get(
        _add(client, a1, "Mail.Me@Example.org", "Mai Tanaka").headers["Location"]
    ).get_data(as_text=True)
    assert "The link was e-mailed" in page
    (message,) = smtp_server.messages
    assert message["To"] == "mail.me@example.org" and message["From"] == "range@example.org"
    body = message.get_content()
    assert "Hello Mai Tanaka" in body
    link = re.search(r"http://\S+/invite/\S+", body).group(0)

    client.post("/logout")
    path = link.split("localhost", 1)[1]
    assert 'value="Mai Tanaka"' in client.get(path).get_data(as_text=True)
    response = client.post(
        path,
        data={
            "name": "Mai Tanaka",
            "password": "a long enough pass",
            "confirm": "a long enough pass",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        from lms.centres import services
        from lms.centres.models import Cohort

        cohort = db.session.get(Cohort, a1)
        assert "mail.me@example.org" in {user.email for user, _ in services.members(cohort)}


def test_the_users_page_invites_with_a_name_and_links_to_copy_again(app, client, make_user, auth):
    make_user("root@example.org", role="platform_admin")
    auth.login("root@example.org")
    form = {
        "invite-email": "ivo@example.org",
        "invite-name": "Ivo Tamm",
        "invite-role": "instructor",
        "invite-submit": "Invite",
    }
    response = client.post("/admin/users", data=form)
    assert response.status_code == 302  # a reload invites nobody again
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    link = re.search(r'id="invite-link"[^>]*>([^<]+)<', page).group(1)
    assert 'value="ivo@example.org"' not in page and 'data-copy-target="#invite-link"' in page
    # Listed with its name and the same link to copy, later too.
    listed = client.get("/admin/users").get_data(as_text=True)
    row = listed.split("open-invitations")[1]
    assert "Ivo Tamm" in row and link in row and "Copy link" in row
    # A new link replaces it; the new one can be copied from the list as well.
    with app.app_context():
        invitation_id = db.session.query(Invitation).filter_by(email="ivo@example.org").one().id
    client.post(f"/admin/invitations/{invitation_id}/link")
    listed = client.get("/admin/users").get_data(as_text=True).split("open-invitations")[1]
    new_link = re.search(r'id="invitation-link-\d+">([^<]+)<', listed).group(1)
    assert new_link != link
    auth.logout()
    assert client.get(link.split("localhost", 1)[1]).status_code == 404
    assert 'value="Ivo Tamm"' in client.get(new_link.split("localhost", 1)[1]).get_data(
        as_text=True
    )
