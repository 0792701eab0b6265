"""LTI 1.3 in the browser: a platform admin registers an LMS (the emulator of
tests/lti_support.py) on the LTI page, then a learner's click in that LMS opens the
module here, signed in (the LMS's auto-submitted form included)."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect
from sqlalchemy import delete, select

from lms.centres.models import Centre
from lms.extensions import db
from lms.lti.models import LtiPlatform
from tests.lti_support import CLIENT_ID, DEPLOYMENT_ID, LTI, PlatformEmulator


@pytest.fixture
def lms_platform(live_app):
    emulator = PlatformEmulator().start()
    yield emulator
    with live_app.app_context():
        db.session.execute(delete(LtiPlatform))
        db.session.commit()
    emulator.stop()


def test_admin_registers_an_lms_and_a_learner_launches_a_module(
    live_app, lms_platform, page, browser, live_server, sign_in
):
    with live_app.app_context():
        if db.session.scalar(select(Centre).where(Centre.slug == "lti-uni")) is None:
            db.session.add(Centre(slug="lti-uni", name="LTI University"))
            db.session.commit()

    sign_in(page, role="platform_admin")
    page.get_by_role("link", name="LTI").click()
    expect(page.locator("[data-tool-urls]")).to_contain_text(f"{live_server}/lti/login")
    registration = lms_platform.registration()
    page.get_by_label("Name").fill("Uni Moodle")
    page.get_by_label("Issuer").fill(registration["issuer"])
    page.get_by_label("Client ID").fill(registration["client_id"])
    page.get_by_label("Authentication request URL").fill(registration["auth_login_url"])
    page.get_by_label("Access token URL").fill(registration["auth_token_url"])
    page.get_by_label("Public keyset URL").fill(registration["key_set_url"])
    page.get_by_label("Deployment IDs").fill(DEPLOYMENT_ID)
    page.get_by_label("Centre of new accounts").select_option(label="LTI University")
    page.get_by_role("button", name="Save the platform").click()
    expect(page.get_by_text("Uni Moodle is saved.")).to_be_visible()

    sub = uuid.uuid4().hex[:10]
    lms_platform.launch = {
        "sub": sub,
        "email": f"lti-{sub}@uni.example.edu",
        "name": "Lina Learner",
        LTI + "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"],
        LTI + "context": {"id": "net-101", "title": "Networks 101"},
    }
    target = f"{live_server}/courses/demo-course/next-steps"
    lms_platform.target = target
    learner = browser.new_context(base_url=live_server)
    tab = learner.new_page()
    query = {"iss": lms_platform.issuer, "client_id": CLIENT_ID, "login_hint": sub}
    tab.goto(f"/lti/login?{urlencode(query | {'target_link_uri': target})}")
    tab.wait_for_url(target)
    expect(tab.get_by_role("heading", name="Next steps")).to_be_visible()
    expect(tab.get_by_text("Lina Learner")).to_be_visible()
    learner.close()
