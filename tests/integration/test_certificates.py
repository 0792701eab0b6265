"""Certificates: completing a course through the platform issues one (and the cohort's
programme certificate); its Open Badges credential verifies offline against the
published key set only; a tampered one fails, a revoked one says so; the PDF is a real
PDF; who may see and revoke what."""

from __future__ import annotations

import base64
import io
import json
import re
import stat

import pytest
from jwcrypto import jwk, jws
from pypdf import PdfReader

from lms.auth.models import User
from lms.catalog.models import Course
from lms.certificates.models import Certificate
from lms.certificates.verifier import INVALID, REVOKED, TAMPERED, VALID, verify_credential
from lms.extensions import db
from tests.conftest import test_config

TRAINEE_NAME = "Siti Nurhaliza Tan"


@pytest.fixture
def app(tmp_path):
    from lms import create_app
    from tests.conftest import reset_schema

    key_file = tmp_path / "keys" / "certificate.pem"  # away from the instance folder
    app = create_app(test_config(tmp_path, LMS_CERTIFICATE_KEY_FILE=str(key_file)))
    with app.app_context():
        reset_schema()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def centre_setup(app, courses, make_user):
    """A centre whose cohort follows the demo course, with the trainee in it."""
    from lms.centres import services
    from lms.centres.models import CohortMember

    trainee_id = make_user("trainee@example.org", name=TRAINEE_NAME)
    with app.app_context():
        centre = services.create_centre("Joint Education Centre")
        cohort = services.create_cohort(centre, "Blue team 2026")
        course = db.session.scalar(db.select(Course).where(Course.slug == "demo-course"))
        services.assign_course(cohort, course.id)
        db.session.add(CohortMember(cohort_id=cohort.id, user_id=trainee_id))
        db.session.get(User, trainee_id).centre_id = centre.id
        db.session.commit()
    return trainee_id


@pytest.fixture
def centre_admins(app, centre_setup, make_user):
    """An admin of the trainee's centre; another centre with its own admin."""
    from lms.centres import services
    from lms.centres.models import Centre

    make_user("admin@example.org", role="centre_admin")
    make_user("other-admin@example.org", role="centre_admin")
    with app.app_context():
        centre = db.session.scalar(db.select(Centre).where(Centre.name == "Joint Education Centre"))
        services.add_centre_admin(centre, "admin@example.org")
        services.add_centre_admin(
            services.create_centre("Elsewhere Centre"), "other-admin@example.org"
        )
        db.session.commit()


def complete_demo_course(client) -> None:
    """Through the platform's pages, as a trainee does it."""
    client.post("/courses/demo-course/first-steps/quiz", data={"q0": "2", "q1": ["1", "2"]})
    assert client.post("/courses/demo-course/first-steps/complete").status_code == 302
    assert client.post("/courses/demo-course/next-steps/complete").status_code == 302


@pytest.fixture
def certified(app, client, auth, centre_setup):
    """The trainee, signed in, has completed the demo course; returns their course
    certificate's id."""
    auth.login()
    complete_demo_course(client)
    with app.app_context():
        return db.session.scalar(db.select(Certificate.id).where(Certificate.kind == "course"))


def reencode(token: str, change) -> str:
    """The token with its payload changed by ``change`` and the old signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(claims)
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{body}.{signature}"


def test_completing_the_course_issues_certificates_that_verify_offline(
    app, client, certified, tmp_path
):
    home = client.get("/").get_data(as_text=True)
    assert f'data-certificate="{certified}"' in home
    assert "Blue team 2026 programme" in home  # every course of the cohort: the programme too

    page = client.get(f"/certificates/{certified}").get_data(as_text=True)
    for shown in (
        TRAINEE_NAME,
        "Demo course for tests",
        "Joint Education Centre",
        "Cyber Range LMS",
    ):
        assert shown in page
    verify_url = f"http://localhost/certificates/{certified}/verify"
    assert re.search(r'<img src="data:image/svg\+xml[^"]+"[^>]*alt="QR code', page)
    assert verify_url in page

    # The key was made once, in the configured file, readable by its owner only.
    key_file = tmp_path / "keys" / "certificate.pem"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    token = client.get(f"/certificates/{certified}/credential.jwt").get_data(as_text=True)
    jwks = client.get("/.well-known/jwks.json").get_json()
    assert json.dumps(jwks).count('"d"') == 0  # the private part is never published
    issuer = client.get("/certificates/issuer.json").get_json()
    assert issuer["verificationMethod"][0]["publicKeyJwk"] == jwks["keys"][0]

    # Offline: outside any app, with the published key set only.
    result = verify_credential(token, jwks)
    assert result.status == VALID, result.reason
    credential = result.credential
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["id"] == f"urn:uuid:{certified}"
    assert credential["issuer"]["id"] == issuer["id"] and credential["validFrom"].endswith("Z")
    subject = credential["credentialSubject"]
    assert subject["achievement"]["name"] == "Demo course for tests"
    assert subject["achievement"]["creator"]["name"] == "Joint Education Centre"
    assert {"identityType": "name", "identityHash": TRAINEE_NAME}.items() <= subject["identifier"][
        0
    ].items()
    assert "trainee@example.org" not in token  # the address is only there hashed

    # Tampered: a changed name, or a credential signed by another key under this key's id.
    renamed = reencode(
        token, lambda c: c["credentialSubject"]["identifier"][0].update(identityHash="Mallory")
    )
    assert verify_credential(renamed, jwks).status == TAMPERED
    forger = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    forged = jws.JWS(json.dumps(credential).encode())
    forged.add_signature(forger, None, json.dumps({"alg": "EdDSA", "kid": jwks["keys"][0]["kid"]}))
    assert verify_credential(forged.serialize(compact=True), jwks).status == TAMPERED
    assert verify_credential("not a credential", jwks).status == INVALID

    # The PDF is a real PDF that names the trainee and the course.
    response = client.get(f"/certificates/{certified}.pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF-")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert TRAINEE_NAME in text and "Demo course for tests" in text and verify_url in text

    # Completing again issues nothing new; the key stays the one published.
    complete_demo_course(client)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Certificate)) == 2
    assert client.get("/.well-known/jwks.json").get_json() == jwks


def test_verification_page_for_anonymous_visitors(app, client, auth, certified):
    token = client.get(f"/certificates/{certified}/credential.jwt").get_data(as_text=True)
    auth.logout()
    page = client.get(f"/certificates/{certified}/verify")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-status="valid"' in html and TRAINEE_NAME in html

    pasted = client.post("/certificates/verify", data={"credential": token}).get_data(as_text=True)
    assert 'data-status="valid"' in pasted
    tampered = reencode(token, lambda c: c.update(validFrom="2020-01-01T00:00:00Z"))
    html = client.post("/certificates/verify", data={"credential": tampered}).get_data(as_text=True)
    assert 'data-status="tampered"' in html and "altered" in html
    assert client.post("/certificates/verify", data={"credential": ""}).status_code == 200
    missing = client.get("/certificates/00000000-0000-4000-8000-000000000000/verify")
    assert missing.status_code == 404 and 'data-status="invalid"' in missing.get_data(as_text=True)
    # The certificate page itself and its downloads are the trainee's.
    assert client.get(f"/certificates/{certified}").status_code == 302


def test_revocation_by_the_trainees_centre_admin(app, client, auth, certified, centre_admins):
    token = client.get(f"/certificates/{certified}/credential.jwt").get_data(as_text=True)
    jwks = client.get("/.well-known/jwks.json").get_json()
    auth.logout()

    auth.login("other-admin@example.org")  # another centre's admin
    assert client.get(f"/certificates/{certified}").status_code == 403
    refused = client.post(f"/certificates/{certified}/revoke", data={"reason": "no"})
    assert refused.status_code == 403
    auth.logout()

    auth.login("admin@example.org")
    page = client.get(f"/certificates/{certified}").get_data(as_text=True)
    assert "Revoke this certificate" in page
    no_reason = client.post(
        f"/certificates/{certified}/revoke", data={"reason": "  "}, follow_redirects=True
    )
    assert "Say why the certificate is revoked" in no_reason.get_data(as_text=True)
    assert client.get("/certificates/revocations.json").get_json()["revokedCredentials"] == []
    done = client.post(
        f"/certificates/{certified}/revoke",
        data={"reason": "Quiz answers were shared"},
        follow_redirects=True,
    )
    assert "The certificate is revoked" in done.get_data(as_text=True)
    auth.logout()

    html = client.get(f"/certificates/{certified}/verify").get_data(as_text=True)
    assert 'data-status="revoked"' in html and "Quiz answers were shared" in html
    revocations = client.get("/certificates/revocations.json").get_json()
    assert revocations["revokedCredentials"] == [
        {"id": f"urn:uuid:{certified}", "revocationReason": "Quiz answers were shared"}
    ]
    with app.app_context():  # in the platform's audit log, for the trainee's centre
        from lms.audit.models import AuditEvent

        event = db.session.scalar(
            db.select(AuditEvent).where(AuditEvent.action == "certificate.revoke")
        )
        assert event.actor_email == "admin@example.org" and event.centre_id is not None
        assert "Quiz answers were shared" in event.detail
    # Offline, the signature still holds; the revocation list says it is withdrawn.
    assert verify_credential(token, jwks).status == VALID
    assert verify_credential(token, jwks, revocations).status == REVOKED


def test_a_trainee_cannot_see_or_revoke_anothers_certificate(
    app, client, auth, certified, make_user
):
    auth.logout()
    make_user("someone@example.org")
    auth.login("someone@example.org")
    for suffix in ("", ".pdf", "/credential.jwt", "/credential.json"):
        assert client.get(f"/certificates/{certified}{suffix}").status_code == 403, suffix
    assert client.post(f"/certificates/{certified}/revoke", data={"reason": "x"}).status_code == 403
    assert f'data-certificate="{certified}"' not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Certificate, certified).revoked_at is None


def test_completions_made_before_certificates_get_theirs_from_the_command(
    app, runner, centre_setup
):
    from lms.auth.models import utcnow
    from lms.progress.models import Enrolment

    with app.app_context():  # completed the way the demo's history is written
        course = db.session.scalar(db.select(Course).where(Course.slug == "demo-course"))
        db.session.add(Enrolment(user_id=centre_setup, course_id=course.id, completed_at=utcnow()))
        db.session.commit()
    assert runner.invoke(args=["certificates", "issue"]).exit_code == 2  # --base-url is required
    result = runner.invoke(args=["certificates", "issue", "--base-url", "https://lms.example.org/"])
    assert result.output.strip() == "2 certificate(s) issued", result.output  # course, programme
    again = runner.invoke(args=["certificates", "issue", "--base-url", "https://lms.example.org"])
    assert again.output.strip() == "0 certificate(s) issued"
    with app.app_context():
        token = db.session.scalar(
            db.select(Certificate.credential).where(Certificate.kind == "course")
        )
    jwks = app.test_client().get("/.well-known/jwks.json").get_json()
    credential = verify_credential(token, jwks).credential
    assert credential["issuer"]["id"] == "https://lms.example.org/certificates/issuer.json"
