"""Single sign-on in the browser: a centre admin configures the centre's OpenID Connect
provider (a real one, tests/oidc_support.py), then a newcomer clicks "Sign in with <centre>",
allows on the provider's page and comes back signed in, with an account in the centre."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from lms.auth.models import User
from lms.auth.services import create_user
from lms.centres.models import Centre
from lms.extensions import db
from lms.sso.models import SsoIssuer
from tests.conftest import PASSWORD
from tests.oidc_support import CLIENT_ID, CLIENT_SECRET, OidcProvider


@pytest.fixture
def provider(live_app):
    provider = OidcProvider().start()
    live_app.config["LMS_SSO_ALLOW_HTTP"] = True  # the provider serves plain HTTP locally
    yield provider
    live_app.config["LMS_SSO_ALLOW_HTTP"] = False
    with live_app.app_context():
        db.session.execute(delete(SsoIssuer))  # other tests' sign-in page stays as it was
        db.session.commit()
    provider.stop()


def test_admin_configures_sso_and_a_newcomer_signs_in_with_the_centre(
    live_app, provider, page, browser, live_server, sign_in
):
    with live_app.app_context():
        centre = Centre(slug="east-college", name="East College")
        db.session.add(centre)
        db.session.flush()
        admin = create_user("east-admin@example.org", PASSWORD, "centre_admin", centre_id=centre.id)
        db.session.commit()
        admin_email, centre_id = admin.email, centre.id

    sign_in(page, email=admin_email)
    page.goto("/centres/east-college")
    page.get_by_role("link", name="Single sign-on").click()
    expect(page.locator("[data-redirect-uri]")).to_have_text(
        f"{live_server}/sso/east-college/callback"
    )
    page.get_by_label("Discovery URL").fill(provider.discovery_url)
    page.get_by_label("Client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_label("Role claim").fill("groups")
    page.get_by_label("Role mapping").fill("east-teachers = instructor")
    page.get_by_label("Offer").check()
    page.get_by_role("button", name="Save single sign-on").click()
    expect(page.get_by_text("Single sign-on is saved and switched on.")).to_be_visible()
    expect(page.get_by_label("Client secret")).to_have_value("")

    provider.person = provider.new_person(name="Nadia Newcomer", groups=["east-teachers"])
    newcomer = browser.new_context(base_url=live_server)
    try:
        visitor = newcomer.new_page()
        visitor.goto("/login")
        visitor.get_by_role("link", name="Sign in with East College").click()
        expect(visitor.get_by_role("heading", name="Test identity provider")).to_be_visible()
        visitor.get_by_role("button", name="Allow").click()
        expect(
            visitor.get_by_text("Welcome! Your account at East College is ready.")
        ).to_be_visible()
        expect(visitor.get_by_text("Nadia Newcomer").first).to_be_visible()
    finally:
        newcomer.close()
    with live_app.app_context():
        user = db.session.scalar(select(User).where(User.email == provider.person["email"]))
        assert (user.role, user.centre_id) == ("instructor", centre_id)
