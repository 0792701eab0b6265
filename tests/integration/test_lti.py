"""The LTI 1.3 tool against a platform emulator (tests/lti_support.py) that signs launches
with its own key and grades through Assignment and Grade Services. The tool is served for
real too: the emulator fetches the tool's key set to check its token requests, and a
requests.Session walks each launch as a browser would."""

from __future__ import annotations

import os
import re
import stat
import threading
import uuid

import jwt
import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from lms import create_app
from lms.auth.models import User
from lms.auth.services import create_user
from lms.catalog.services import sync_courses
from lms.centres.models import Centre, Cohort
from lms.extensions import db
from lms.lti.models import LtiContext, LtiPlatform, LtiScore, LtiUser
from tests.conftest import FIXTURE_COURSES, PASSWORD, reset_schema, test_config
from tests.lti_support import AGS_SCOPES, CLIENT_ID, LTI, PlatformEmulator, launch

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


@pytest.fixture(scope="module")
def lms_platform():
    emulator = PlatformEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def tool(tmp_path_factory, lms_platform):
    """The app on a free port, with the fixture courses, a centre, and the emulator
    registered in it."""
    instance = tmp_path_factory.mktemp("lti")
    app = create_app(test_config(instance, LMS_LTI_KEY_FILE=str(instance / "keys" / "lti.pem")))
    with app.app_context():
        reset_schema()
        sync_courses(FIXTURE_COURSES)
        centre = Centre(slug="north", name="North Academy")
        db.session.add(centre)
        db.session.flush()
        db.session.add(
            LtiPlatform(name="Uni Moodle", centre_id=centre.id, **lms_platform.registration())
        )
        create_user("root@example.org", PASSWORD, role="platform_admin")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    lms_platform.tool_jwks_url = f"{app.base_url}/lti/jwks.json"
    yield app
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _honest_platform(lms_platform):
    lms_platform.forge = False
    yield
    lms_platform.forge = False


def learner(**claims) -> dict:
    sub = uuid.uuid4().hex[:12]
    return {
        "sub": sub,
        "email": f"learner-{sub}@uni.example.edu",
        "name": "Lee Learner",
        LTI + "roles": [LEARNER],
        LTI + "context": {"id": "course-net101", "title": "Networks 101"},
    } | claims


def module_target(tool, module="first-steps") -> str:
    return f"{tool.base_url}/courses/demo-course/{module}"


def test_the_tool_publishes_its_configuration_and_a_key_it_keeps(tool):
    config = requests.get(f"{tool.base_url}/lti/config.json", timeout=10).json()
    assert config["oidc_initiation_url"] == f"{tool.base_url}/lti/login"
    assert config["target_link_uri"] == f"{tool.base_url}/lti/launch"
    assert config["public_jwk_url"] == f"{tool.base_url}/lti/jwks.json"
    assert config["deep_linking_url"] == f"{tool.base_url}/lti/launch"
    keys = requests.get(config["public_jwk_url"], timeout=10).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert requests.get(config["public_jwk_url"], timeout=10).json()["keys"] == keys  # made once
    key_file = tool.config["LMS_LTI_KEY_FILE"]
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600


def test_a_launch_signs_in_enrols_into_the_context_cohort_and_opens_the_module(tool, lms_platform):
    lms_platform.launch = learner()
    browser = requests.Session()
    answer, _, _ = launch(browser, tool.base_url, lms_platform, module_target(tool))
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"].endswith("/courses/demo-course/first-steps")
    page = browser.get(tool.base_url + answer.headers["Location"])
    assert page.status_code == 200 and "First steps" in page.text
    assert browser.get(f"{tool.base_url}/settings", allow_redirects=False).status_code == 200

    # A classmate, then a teacher, of the same LMS course: one cohort, in the centre.
    classmate = requests.Session()
    lms_platform.launch = learner(**{LTI + "custom": {"course": "demo-course"}})
    answer, _, _ = launch(classmate, tool.base_url, lms_platform, f"{tool.base_url}/lti/launch")
    assert answer.headers["Location"].endswith("/courses/demo-course")
    lms_platform.launch = teacher = learner(**{LTI + "roles": [INSTRUCTOR]})
    launch(requests.Session(), tool.base_url, lms_platform, module_target(tool))
    with tool.app_context():
        context = db.session.scalar(
            select(LtiContext).where(LtiContext.context_id == "course-net101")
        )
        cohort = context.cohort
        assert cohort.centre.slug == "north" and cohort.name.startswith("Networks 101")
        assert db.session.scalar(select(func.count(Cohort.id))) == 1
        members = {m.user.email for m in cohort.memberships}
        assert len(members) == 2 and all(e.startswith("learner-") for e in members)
        assert [u.email for u in cohort.instructors] == [teacher["email"]]
        assert (
            db.session.scalar(select(User.role).where(User.email == teacher["email"]))
            == "instructor"
        )
        assert [c.course.slug for c in cohort.courses] == ["demo-course"]


def test_the_same_sub_signs_in_to_the_same_account(tool, lms_platform):
    lms_platform.launch = person = learner()
    launch(requests.Session(), tool.base_url, lms_platform, module_target(tool))
    lms_platform.launch = person | {"email": "changed@uni.example.edu"}
    answer, _, _ = launch(requests.Session(), tool.base_url, lms_platform, module_target(tool))
    assert answer.status_code == 302
    with tool.app_context():
        assert db.session.scalar(select(User.id).where(User.email == person["email"]))
        assert (
            db.session.scalar(select(User.id).where(User.email == "changed@uni.example.edu"))
            is None
        )


def test_a_replayed_launch_is_refused(tool, lms_platform):
    lms_platform.launch = learner()
    browser = requests.Session()
    answer, action, form = launch(browser, tool.base_url, lms_platform, module_target(tool))
    assert answer.status_code == 302
    # The same id_token again (as someone who captured the form post would send it).
    thief = requests.Session()
    thief.cookies.update(browser.cookies)
    browser.post(f"{tool.base_url}/logout")
    replay = thief.post(action, data=form, allow_redirects=False)
    assert replay.status_code == 400
    assert "used already" in replay.text
    assert thief.get(f"{tool.base_url}/settings", allow_redirects=False).status_code == 302


def test_a_launch_signed_by_another_key_is_refused(tool, lms_platform):
    lms_platform.launch = person = learner()
    lms_platform.forge = True
    browser = requests.Session()
    answer, _, _ = launch(browser, tool.base_url, lms_platform, module_target(tool))
    assert answer.status_code == 400
    assert "signature did not match" in answer.text
    assert browser.get(f"{tool.base_url}/settings", allow_redirects=False).status_code == 302
    with tool.app_context():
        assert db.session.scalar(select(User.id).where(User.email == person["email"])) is None


def test_completing_a_launched_module_sends_its_score_to_the_line_item(tool, lms_platform):
    endpoint = {"scope": AGS_SCOPES, "lineitem": lms_platform.lineitem_url("7")}
    lms_platform.launch = person = learner(
        **{"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": endpoint}
    )
    browser = requests.Session()
    target = module_target(tool, "next-steps")
    answer, _, _ = launch(browser, tool.base_url, lms_platform, target)
    assert answer.status_code == 302
    done = browser.post(f"{target}/complete", allow_redirects=False)
    assert done.status_code == 302
    scores = [s for s in lms_platform.scores if s["userId"] == person["sub"]]
    assert len(scores) == 1
    score = scores[0]
    assert (score["lineitem"], score["scoreGiven"], score["scoreMaximum"]) == ("7", 1.0, 1.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Completed", "FullyGraded")
    with tool.app_context():
        row = db.session.scalars(select(LtiScore).order_by(LtiScore.id.desc())).first()
        assert row.sent_at is not None and row.attempts == 1

    # Completing it again sends nothing more.
    browser.post(f"{target}/complete")
    assert len([s for s in lms_platform.scores if s["userId"] == person["sub"]]) == 1


def test_a_platform_refusing_the_score_keeps_it_for_a_later_sending(tool, lms_platform):
    endpoint = {"scope": AGS_SCOPES, "lineitem": f"{lms_platform.base_url}/nowhere/1"}
    lms_platform.launch = learner(
        **{"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": endpoint}
    )
    browser = requests.Session()
    target = module_target(tool, "next-steps")
    launch(browser, tool.base_url, lms_platform, target)
    done = browser.post(f"{target}/complete")
    assert done.status_code == 200 and "is complete" in done.text
    with tool.app_context():
        row = db.session.scalars(select(LtiScore).order_by(LtiScore.id.desc())).first()
        assert row.sent_at is None and "404" in row.last_error
    result = tool.test_cli_runner().invoke(args=["lti", "send-scores"])
    assert result.exit_code == 1 and "0 score(s) sent, 1 not sent" in result.output


def test_a_platform_admin_registers_an_lms_in_the_browser(tool, lms_platform):
    admin = requests.Session()
    admin.post(f"{tool.base_url}/login", data={"email": "root@example.org", "password": PASSWORD})
    page = admin.get(f"{tool.base_url}/lti/platforms")
    assert page.status_code == 200 and f"{tool.base_url}/lti/login" in page.text
    with tool.app_context():
        centre_id = db.session.scalar(select(Centre.id))
    form = {
        "name": "Canvas Cloud",
        "issuer": "https://canvas.instructure.com",
        "client_id": "10000000000042",
        "auth_login_url": "https://sso.canvaslms.com/api/lti/authorize_redirect",
        "auth_token_url": "https://sso.canvaslms.com/login/oauth2/token",
        "key_set_url": "https://sso.canvaslms.com/api/lti/security/jwks",
        "deployment_ids": "1:abc\n\n2:def\n",
        "centre_id": str(centre_id),
    }
    saved = admin.post(f"{tool.base_url}/lti/platforms", data=form)
    assert saved.status_code == 200 and "Canvas Cloud is saved" in saved.text
    again = admin.post(f"{tool.base_url}/lti/platforms", data=form)
    assert "registered already" in again.text
    with tool.app_context():
        row = db.session.scalar(select(LtiPlatform).where(LtiPlatform.name == "Canvas Cloud"))
        assert row.deployment_list == ["1:abc", "2:def"]

    # An unknown LMS's launch is refused with a page that says so.
    unknown = requests.post(
        f"{tool.base_url}/lti/login",
        data={"iss": "https://elsewhere.example", "client_id": "x", "login_hint": "1"},
        timeout=10,
    )
    assert unknown.status_code == 400 and "not registered" in unknown.text
    # A registered LMS's incomplete requests: a page that says so, never a 500.
    incomplete = requests.post(
        f"{tool.base_url}/lti/login",
        data={"iss": lms_platform.issuer, "client_id": CLIENT_ID},
        timeout=10,
    )
    assert incomplete.status_code == 400 and "incomplete" in incomplete.text
    no_state = requests.post(f"{tool.base_url}/lti/launch", data={"id_token": "a.b.c"}, timeout=10)
    assert no_state.status_code == 400 and "Open the link in your LMS again" in no_state.text
    trainee = requests.Session()
    with tool.app_context():
        create_user("someone@example.org", PASSWORD)
        db.session.commit()
    trainee.post(
        f"{tool.base_url}/login", data={"email": "someone@example.org", "password": PASSWORD}
    )
    assert trainee.get(f"{tool.base_url}/lti/platforms").status_code == 403


def test_an_instructor_deep_links_modules_into_the_lms_course(tool, lms_platform):
    return_url = f"{lms_platform.base_url}/deep-link-return"
    lms_platform.launch = learner(
        **{
            LTI + "roles": [INSTRUCTOR],
            LTI + "message_type": "LtiDeepLinkingRequest",
            "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings": {
                "deep_link_return_url": return_url,
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                "data": "opaque-123",
            },
        }
    )
    browser = requests.Session()
    picker, _, _ = launch(browser, tool.base_url, lms_platform, f"{tool.base_url}/lti/launch")
    assert picker.status_code == 200 and "Next steps" in picker.text
    action = re.search(r'<form method="post" action="([^"]+)"', picker.text).group(1)
    module_id = re.search(r'value="(\d+)" id="m\d+">\s*<label[^>]*>Next steps', picker.text)
    answer = browser.post(tool.base_url + action, data={"module": module_id.group(1)})
    assert answer.status_code == 200
    assert (
        f"form-action 'self' {lms_platform.base_url}" in answer.headers["Content-Security-Policy"]
    )
    assert f'action="{return_url}"' in answer.text
    token = re.search(r'name="JWT" value="([^"]+)"', answer.text).group(1)
    keys = jwt.PyJWKSet.from_dict(requests.get(f"{tool.base_url}/lti/jwks.json", timeout=10).json())
    claims = jwt.decode(token, keys.keys[0].key, algorithms=["RS256"], audience=lms_platform.issuer)
    assert claims[LTI + "message_type"] == "LtiDeepLinkingResponse"
    assert claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] == "opaque-123"
    (item,) = claims["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink" and item["url"] == f"{tool.base_url}/lti/launch"
    assert item["custom"] == {"course": "demo-course", "module": "next-steps"}
    assert item["lineItem"]["scoreMaximum"] == 1.0


def test_removing_a_platform_forgets_its_people_and_refuses_its_launches(tool, lms_platform):
    lms_platform.launch = learner()
    launch(requests.Session(), tool.base_url, lms_platform, module_target(tool))
    with tool.app_context():
        platform = db.session.scalar(select(LtiPlatform).where(LtiPlatform.name == "Uni Moodle"))
        platform_id, centre_id = platform.id, platform.centre_id
        assert db.session.scalar(select(func.count(LtiUser.id))) > 0
    admin = requests.Session()
    admin.post(f"{tool.base_url}/login", data={"email": "root@example.org", "password": PASSWORD})
    removed = admin.post(f"{tool.base_url}/lti/platforms/{platform_id}/remove")
    assert removed.status_code == 200 and "is removed" in removed.text
    with tool.app_context():
        assert db.session.scalar(select(func.count(LtiUser.id))) == 0
        assert db.session.scalar(select(func.count(LtiContext.id))) == 0
        assert db.session.scalar(select(func.count(Cohort.id))) >= 1  # cohorts stay
    start = requests.post(
        f"{tool.base_url}/lti/login",
        data={"iss": lms_platform.issuer, "client_id": CLIENT_ID, "login_hint": "1"},
        timeout=10,
    )
    assert start.status_code == 400 and "not registered" in start.text
    with tool.app_context():  # registered again for the tests that follow
        db.session.add(
            LtiPlatform(name="Uni Moodle", centre_id=centre_id, **lms_platform.registration())
        )
        db.session.commit()


def test_pages_may_be_framed_by_the_configured_lms_with_cross_site_cookies(tmp_path):
    app = create_app(test_config(tmp_path, LMS_LTI_FRAME_ANCESTORS="https://moodle.example.edu"))
    with app.app_context():
        reset_schema()
    page = app.test_client().get("/login")
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://moodle.example.edu" in policy
    cookie = page.headers["Set-Cookie"]
    assert "SameSite=None" in cookie and "Secure" in cookie

    # Without the setting, nobody frames the pages.
    (tmp_path / "plain").mkdir()
    plain = create_app(test_config(tmp_path / "plain"))
    with plain.app_context():
        reset_schema()
    page = plain.test_client().get("/login")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
