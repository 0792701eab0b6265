"""Single sign-on against a real OpenID Connect provider (tests/oidc_support.py): the
platform is served for real too, and a requests.Session walks the whole flow between
them, as a browser would (sign-in link, the provider's consent page, the callback)."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lms import create_app
from lms.auth.models import Role, User
from lms.auth.services import create_user
from lms.centres.models import Centre
from lms.extensions import db
from lms.sso import services
from lms.sso.models import SsoIssuer
from tests.conftest import PASSWORD, reset_schema, test_config
from tests.oidc_support import CLIENT_ID, CLIENT_SECRET, OidcProvider

MAPPING = "lms-instructors = instructor\nlms-admins = centre_admin\n"


@pytest.fixture(scope="module")
def provider():
    provider = OidcProvider().start()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def platform(tmp_path_factory, provider):
    """The app, served on a free port, with two centres; North uses the provider."""
    app = create_app(test_config(tmp_path_factory.mktemp("sso"), LMS_SSO_ALLOW_HTTP=True))
    with app.app_context():
        reset_schema()
        north = Centre(slug="north", name="North Academy")
        south = Centre(slug="south", name="South Institute")
        db.session.add_all([north, south])
        db.session.commit()
        services.save_issuer(
            north,
            discovery_url=provider.discovery_url,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            role_claim="groups",
            role_mapping=MAPPING,
            default_role=Role.TRAINEE.value,
            enabled=True,
        )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_provider_settings(provider):
    provider.person = provider.new_person()
    provider.token_overrides = {}
    yield
    provider.token_overrides = {}


def sign_in_with_provider(platform, state=None) -> tuple[requests.Session, requests.Response]:
    """Click "Sign in with North Academy", allow on the provider's page, come back (with
    ``state`` replaced, if given). Returns the browser-like session and the last page."""
    browser = requests.Session()
    login_page = browser.get(f"{platform.base_url}/login")
    assert "Sign in with North Academy" in login_page.text
    to_provider = browser.get(f"{platform.base_url}/sso/north/login", allow_redirects=False)
    assert to_provider.status_code == 302
    authorize_url = to_provider.headers["Location"]
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    consent = browser.get(authorize_url)
    assert consent.status_code == 200 and "Allow" in consent.text
    back = browser.post(authorize_url, data={"allow": "yes"}, allow_redirects=False)
    callback = back.headers["Location"]
    if state is not None:
        parts = urlsplit(callback)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"state": state}
        callback = urlunsplit(parts._replace(query=urlencode(params)))
    return browser, browser.get(callback)


def signed_in(platform, browser: requests.Session) -> bool:
    settings = browser.get(f"{platform.base_url}/settings", allow_redirects=False)
    return settings.status_code == 200


def account(platform, email: str) -> User | None:
    with platform.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def test_a_new_person_gets_an_account_in_the_centre_with_the_mapped_role(platform, provider):
    provider.person["groups"] = ["staff", "lms-instructors"]
    browser, page = sign_in_with_provider(platform)
    assert page.status_code == 200 and "Welcome! Your account at North Academy" in page.text
    assert signed_in(platform, browser)
    user = account(platform, provider.person["email"])
    with platform.app_context():
        north = db.session.scalar(select(Centre).where(Centre.slug == "north"))
    assert (user.role, user.centre_id, user.password_hash) == ("instructor", north.id, None)

    # The same person again: the same account, not a second one.
    browser, page = sign_in_with_provider(platform)
    assert signed_in(platform, browser) and "Welcome!" not in page.text
    with platform.app_context():
        count = db.session.scalar(
            select(func.count(User.id)).where(User.email == provider.person["email"])
        )
    assert count == 1


def test_role_mapping_takes_the_highest_mapped_role_or_the_default(platform, provider):
    provider.person["groups"] = ["lms-instructors", "lms-admins"]
    sign_in_with_provider(platform)
    assert account(platform, provider.person["email"]).role == "centre_admin"
    provider.person = provider.new_person(groups=["platform-admins", "other"])
    sign_in_with_provider(platform)
    assert account(platform, provider.person["email"]).role == "trainee"


def test_an_account_of_the_centre_is_matched_by_verified_email(platform, provider):
    with platform.app_context():
        north = db.session.scalar(select(Centre).where(Centre.slug == "north"))
        existing = create_user(
            provider.person["email"].upper(), PASSWORD, name="Kept", centre_id=north.id
        )
        db.session.commit()
        existing_id = existing.id
    provider.person["groups"] = ["lms-admins"]
    browser, page = sign_in_with_provider(platform)
    assert signed_in(platform, browser)
    user = account(platform, provider.person["email"])
    # The same account, its role and name as the centre set them.
    assert (user.id, user.role, user.name) == (existing_id, "trainee", "Kept")


@pytest.mark.parametrize("who", ["another centre", "platform admin"])
def test_accounts_outside_the_centre_never_sign_in_through_its_provider(platform, provider, who):
    with platform.app_context():
        south = db.session.scalar(select(Centre).where(Centre.slug == "south"))
        if who == "platform admin":
            create_user(provider.person["email"], PASSWORD, role=Role.PLATFORM_ADMIN.value)
        else:
            create_user(provider.person["email"], PASSWORD, centre_id=south.id)
        db.session.commit()
    browser, page = sign_in_with_provider(platform)
    assert page.status_code == 400
    assert "does not belong to North Academy: sign in with its password" in page.text
    assert not signed_in(platform, browser)


def test_an_unverified_email_is_refused_and_makes_no_account(platform, provider):
    provider.person["email_verified"] = False
    browser, page = sign_in_with_provider(platform)
    assert page.status_code == 400
    assert f"Your identity provider has not verified {provider.person['email']}" in page.text
    assert not signed_in(platform, browser)
    assert account(platform, provider.person["email"]) is None


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("state", "This sign-in link is stale or was not started here"),
        ("audience", "a token meant for another application"),
        ("expiry", "an expired sign-in token"),
    ],
)
def test_a_wrong_state_audience_or_expired_token_is_refused(platform, provider, spoil, message):
    now = int(time.time())
    if spoil == "audience":
        provider.token_overrides = {"aud": ["some-other-application"]}
    elif spoil == "expiry":
        provider.token_overrides = {"iat": now - 7200, "exp": now - 3600}
    state = "forged-state-value" if spoil == "state" else None
    browser, page = sign_in_with_provider(platform, state=state)
    assert page.status_code == 400
    assert message in page.text
    assert not signed_in(platform, browser)
    assert account(platform, provider.person["email"]) is None


def test_a_sign_in_the_person_declined_at_the_provider_is_refused(platform, provider):
    browser = requests.Session()
    to_provider = browser.get(f"{platform.base_url}/sso/north/login", allow_redirects=False)
    state = parse_qs(urlsplit(to_provider.headers["Location"]).query)["state"][0]
    declined = urlencode(
        {"error": "access_denied", "error_description": "The user said no", "state": state}
    )
    page = browser.get(f"{platform.base_url}/sso/north/callback?{declined}")
    assert page.status_code == 400
    assert "Your identity provider refused the sign-in (The user said no)" in page.text
    assert not signed_in(platform, browser)


def test_an_account_with_two_factor_sign_in_is_still_asked_for_its_code(platform, provider):
    with platform.app_context():
        north = db.session.scalar(select(Centre).where(Centre.slug == "north"))
        user = create_user(
            provider.person["email"], PASSWORD, role="instructor", centre_id=north.id
        )
        user.totp_secret = "JBSWY3DPEHPK3PXP"
        user.totp_enabled_at = user.created_at = services.utcnow()
        db.session.commit()
    browser, page = sign_in_with_provider(platform)
    assert page.url.endswith("/login/two-factor")
    assert not signed_in(platform, browser)


def test_a_disabled_issuer_offers_nothing_and_refuses_callbacks(platform, provider):
    browser = requests.Session()
    to_provider = browser.get(f"{platform.base_url}/sso/north/login", allow_redirects=False)
    authorize_url = to_provider.headers["Location"]
    browser.get(authorize_url)
    callback = browser.post(authorize_url, data={"allow": "yes"}, allow_redirects=False)
    with platform.app_context():
        issuer = db.session.scalar(select(SsoIssuer))
        issuer.enabled = False
        db.session.commit()
    try:
        assert "Sign in with North Academy" not in browser.get(f"{platform.base_url}/login").text
        for url in (f"{platform.base_url}/sso/north/login", callback.headers["Location"]):
            page = browser.get(url)
            assert page.status_code == 400
            assert "Single sign-on is not switched on for this centre" in page.text
        assert not signed_in(platform, browser)
    finally:
        with platform.app_context():
            db.session.scalar(select(SsoIssuer)).enabled = True
            db.session.commit()


def _settings_client(platform, role: str, centre_slug: str):
    email = f"{role}-{centre_slug}-{time.monotonic_ns()}@example.org"
    with platform.app_context():
        centre = db.session.scalar(select(Centre).where(Centre.slug == centre_slug))
        create_user(email, PASSWORD, role=role, centre_id=centre.id)
        db.session.commit()
    client = platform.test_client()
    client.post("/login", data={"email": email, "password": PASSWORD})
    return client


def test_only_the_centres_admins_configure_it_and_the_secret_is_never_shown(platform, provider):
    other_admin = _settings_client(platform, "centre_admin", "south")
    assert other_admin.get("/centres/north/sso").status_code == 403
    assert (
        _settings_client(platform, "instructor", "north").get("/centres/north/sso").status_code
        == 403
    )

    admin = _settings_client(platform, "centre_admin", "north")
    page = admin.get("/centres/north/sso").get_data(as_text=True)
    assert "/sso/north/callback" in page and provider.discovery_url in page
    assert CLIENT_SECRET not in page and CLIENT_SECRET[-4:] in page

    form = {
        "discovery_url": provider.discovery_url,
        "client_id": CLIENT_ID,
        "client_secret": "",
        "role_claim": "groups",
        "role_mapping": MAPPING,
        "default_role": "trainee",
        "enabled": "y",
    }
    refused = admin.post("/centres/north/sso", data=form | {"role_mapping": "x = platform_admin"})
    assert "Line 1 (&#39;x = platform_admin&#39;)" in refused.get_data(as_text=True)
    refused = admin.post(
        "/centres/north/sso", data=form | {"discovery_url": "http://idp.example.org/.well-known/x"}
    )
    assert "The discovery URL must start with https://" in refused.get_data(as_text=True)
    with socket.socket() as probe:  # a port nothing listens on once closed
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    refused = admin.post(
        "/centres/north/sso",
        data=form | {"discovery_url": f"http://127.0.0.1:{dead_port}/.well-known/x"},
    )
    assert "The discovery document could not be read" in refused.get_data(as_text=True)
    elsewhere = provider.discovery_url.replace("127.0.0.1", "localhost")
    refused = admin.post("/centres/north/sso", data=form | {"discovery_url": elsewhere})
    assert f"names the issuer {provider.url}, not http://localhost" in refused.get_data(
        as_text=True
    )

    saved = admin.post("/centres/north/sso", data=form | {"role_claim": "roles"})
    assert saved.status_code == 302
    admin.post("/centres/north/sso", data=form)  # back as it was
    with platform.app_context():
        from lms.audit.models import AuditEvent

        issuer = db.session.scalar(select(SsoIssuer))
        # An empty secret field kept the saved secret; the changes are in the audit log.
        assert services.client_secrets.reveal(issuer.client_secret_encrypted) == CLIENT_SECRET
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sso.changed").order_by(AuditEvent.id)
        ).all()
        assert [e.detail for e in events][-2:] == [
            '{"changes": ["role_claim"]}',
            '{"changes": ["role_claim"]}',
        ]
        assert events[-1].centre_id == issuer.centre_id and CLIENT_SECRET not in events[-1].detail
