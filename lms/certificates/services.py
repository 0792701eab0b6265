"""Issuing, listing and revoking certificates, and the documents verifiers read.

A certificate is issued when a trainee completes a course (``lms.progress.signals``
announces it) and when that completion finishes every course assigned to one of their
cohorts (a programme certificate). Its credential is an Open Badges 3.0
``OpenBadgeCredential`` (a W3C Verifiable Credential) signed as a VC-JWT with the
platform key (``signing``); anyone can check it offline (``verifier``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

from flask import current_app, has_request_context, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.audit.services import record as audit
from lms.auth.models import Role, User, utcnow
from lms.catalog.models import Course
from lms.centres.access import managed_centre_ids
from lms.centres.models import Centre, Cohort, CohortMember
from lms.certificates import signing
from lms.certificates.models import COURSE, PROGRAMME, Certificate
from lms.certificates.verifier import Verification, verify_credential
from lms.extensions import db
from lms.progress.models import Enrolment

OB_CONTEXT = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]
REVOCATION_LIST_TYPE = "1EdTechRevocationList"
REASON_LENGTH = 500


class RevocationRefused(ValueError):
    """A revocation that cannot be done as asked; the message says why."""


def issuer_name() -> str:
    return current_app.config.get("LMS_CERTIFICATE_ISSUER_NAME") or "Cyber Range LMS"


def issue_for_completion(user: User, course: Course) -> list[Certificate]:
    """Receiver of ``course_completed``: the course's certificate, and a programme
    certificate for each cohort of the user whose courses are now all complete. Runs
    after the completion's commit; a failure here is logged and loses no progress."""
    if not has_request_context():  # the credential's addresses come from the request
        current_app.logger.warning("certificate for %s not issued: no request", user.id)
        return []
    try:
        issued = [_issue_course(user, course)]
        issued += [_issue_programme(user, cohort) for cohort in _completed_cohorts(user, course)]
    except Exception:  # the completion is committed: whatever failed, the page goes on
        db.session.rollback()
        current_app.logger.exception("certificate for user %s not issued", user.id)
        return []
    return [c for c in issued if c is not None]


def issue_missing() -> list[Certificate]:
    """Issue what every completed course should have led to (completions made before
    certificates existed, or whose issue failed); needs a request context for the
    addresses (``lms certificates issue --base-url``). Already issued ones are skipped."""
    completed = db.session.execute(
        select(Enrolment.user_id, Enrolment.course_id)
        .where(Enrolment.completed_at.is_not(None))
        .order_by(Enrolment.completed_at)
    ).all()
    issued = []
    for user_id, course_id in completed:
        user, course = db.session.get(User, user_id), db.session.get(Course, course_id)
        if user is not None and course is not None:
            issued += issue_for_completion(user, course)
    return issued


def _issue_course(user: User, course: Course) -> Certificate | None:
    centre = _home_centre(user, course)
    return _issue(
        user,
        kind=COURSE,
        key=f"course:{course.id}",
        title=course.title,
        centre=centre,
        achievement={
            "id": url_for("catalog.course", slug=course.slug, _external=True),
            "name": course.title,
            "description": course.summary or course.title,
            "criteria": {"narrative": f"Completed every module of the course “{course.title}”."},
        },
        course_id=course.id,
    )


def _issue_programme(user: User, cohort: Cohort) -> Certificate | None:
    titles = [assigned.course.title for assigned in cohort.courses]
    return _issue(
        user,
        kind=PROGRAMME,
        key=f"programme:{cohort.id}",
        title=f"{cohort.name} programme",
        centre=cohort.centre,
        achievement={
            "id": url_for("certificates.issuer_profile", _external=True)
            + f"#programme-{cohort.id}",
            "name": f"{cohort.name} programme",
            "description": f"Every course of the {cohort.name} programme at {cohort.centre.name}.",
            "criteria": {"narrative": "Completed every course: " + "; ".join(titles) + "."},
        },
        cohort_id=cohort.id,
    )


def _completed_cohorts(user: User, course: Course) -> list[Cohort]:
    """The user's cohorts that follow ``course`` and whose assigned courses are all complete."""
    cohorts = db.session.scalars(
        select(Cohort).join(CohortMember).where(CohortMember.user_id == user.id)
    ).all()
    completed = set(
        db.session.scalars(
            select(Enrolment.course_id).where(
                Enrolment.user_id == user.id, Enrolment.completed_at.is_not(None)
            )
        )
    )
    return [
        cohort
        for cohort in cohorts
        if any(c.course_id == course.id for c in cohort.courses)
        and all(c.course_id in completed for c in cohort.courses)
    ]


def _home_centre(user: User, course: Course) -> Centre | None:
    """The centre named on a course certificate: the trainee's own, else that of a cohort
    of theirs which follows the course."""
    if user.centre_id:
        return db.session.get(Centre, user.centre_id)
    for cohort in db.session.scalars(
        select(Cohort).join(CohortMember).where(CohortMember.user_id == user.id)
    ):
        if any(c.course_id == course.id for c in cohort.courses):
            return cohort.centre
    return None


def _issue(user, *, kind, key, title, centre, achievement, **links) -> Certificate | None:
    """Make, sign and commit one certificate; None when the user already has it."""
    existing = db.session.scalar(
        select(Certificate.id).where(
            Certificate.user_id == user.id, Certificate.achievement_key == key
        )
    )
    if existing is not None:
        return None
    certificate = Certificate(
        id=str(uuid.uuid4()),
        user_id=user.id,
        kind=kind,
        achievement_key=key,
        title=title[:300],
        recipient_name=user.display_name,
        centre_name=centre.name if centre else "",
        issuer_name=issuer_name(),
        issued_at=utcnow().replace(microsecond=0),
        **links,
    )
    certificate.credential = signing.sign(_credential(certificate, user, centre, achievement))
    db.session.add(certificate)
    try:
        db.session.commit()
    except IntegrityError:  # a parallel request issued it first
        db.session.rollback()
        return None
    return certificate


def _credential(certificate: Certificate, user: User, centre, achievement: dict) -> dict:
    """The Open Badges 3.0 credential with its VC-JWT claims (iss, jti, nbf, sub)."""
    issuer = issuer_profile(public_key=False)
    valid_from = certificate.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    achievement = {"type": ["Achievement"], "achievementType": "Certificate", **achievement}
    if centre is not None:
        achievement["creator"] = {
            "id": f"{issuer['id']}#centre-{centre.slug}",
            "type": ["Profile"],
            "name": centre.name,
        }
    subject_id = f"{issuer['id']}#recipient-{certificate.id}"
    return {
        "@context": OB_CONTEXT,
        "id": certificate.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": certificate.title,
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": subject_id,
            "type": ["AchievementSubject"],
            "identifier": [
                _identity("name", certificate.recipient_name, hashed=False),
                _identity("emailAddress", user.email, hashed=True),
            ],
            "achievement": achievement,
        },
        "credentialStatus": {
            "id": url_for("certificates.revocation_list", _external=True),
            "type": REVOCATION_LIST_TYPE,
        },
        "evidence": [
            {
                "id": url_for("certificates.verify", certificate_id=certificate.id, _external=True),
                "type": ["Evidence"],
                "name": "Verification page",
            }
        ],
        "iss": issuer["id"],
        "jti": certificate.credential_id,
        "sub": subject_id,
        "nbf": int(certificate.issued_at.replace(tzinfo=UTC).timestamp()),
    }


def _identity(kind: str, value: str, hashed: bool) -> dict:
    """An Open Badges IdentityObject; an e-mail address is salted and hashed, so the
    credential proves who it is for to someone who knows the address, and shows it to
    no one else."""
    if not hashed:
        return {
            "type": "IdentityObject",
            "identityType": kind,
            "hashed": False,
            "identityHash": value,
        }
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((value + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityType": kind,
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


def issuer_profile(public_key: bool = True) -> dict:
    """The issuer's Open Badges Profile; published with its verification key."""
    issuer_id = url_for("certificates.issuer_profile", _external=True)
    profile = {
        "id": issuer_id,
        "type": ["Profile"],
        "name": issuer_name(),
        "url": url_for("progress.home", _external=True),
    }
    if public_key:
        profile["@context"] = OB_CONTEXT
        profile["verificationMethod"] = [
            {
                "id": f"{issuer_id}#{key['kid']}",
                "type": "JsonWebKey",
                "controller": issuer_id,
                "publicKeyJwk": key,
            }
            for key in signing.public_jwks()["keys"]
        ]
        profile["jwks_uri"] = url_for("certificates.jwks", _external=True)
    return profile


def revocation_list() -> dict:
    """Every revoked credential of this issuer (the 1EdTech revocation list)."""
    revoked = db.session.execute(
        select(Certificate.id, Certificate.revocation_reason)
        .where(Certificate.revoked_at.is_not(None))
        .order_by(Certificate.revoked_at)
    )
    return {
        "id": url_for("certificates.revocation_list", _external=True),
        "issuer": url_for("certificates.issuer_profile", _external=True),
        "revokedCredentials": [
            {"id": f"urn:uuid:{row.id}", "revocationReason": row.revocation_reason}
            for row in revoked
        ],
    }


def verify(token: str) -> Verification:
    """``verifier.verify_credential`` against this platform's key and current revocations."""
    return verify_credential(token, signing.public_jwks(), revocation_list())


def certificates_of(user_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc())
        )
    )


def may_view(viewer: User, certificate: Certificate) -> bool:
    """The trainee, and staff who may see their work (lms.auth.visibility)."""
    from lms.auth.visibility import can_view_trainee

    return can_view_trainee(viewer, certificate.user_id)


def may_revoke(viewer: User, certificate: Certificate) -> bool:
    """Platform admins; centre admins for trainees of the centres they run (their home
    centre, or a cohort of one of those centres)."""
    if not viewer.is_authenticated:
        return False
    if viewer.is_platform_admin:
        return True
    if viewer.role != Role.CENTRE_ADMIN.value:
        return False
    centres = managed_centre_ids(viewer) or set()
    trainee = db.session.get(User, certificate.user_id)
    if trainee is None:
        return False
    if trainee.centre_id in centres:
        return True
    found = db.session.scalar(
        select(CohortMember.id)
        .join(Cohort)
        .where(CohortMember.user_id == trainee.id, Cohort.centre_id.in_(centres))
        .limit(1)
    )
    return found is not None


def revoke(certificate: Certificate, by: User, reason: str, at: datetime | None = None) -> None:
    """Revoke for good, with the reason shown on the verification page and in the list."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise RevocationRefused(
            "Say why the certificate is revoked: the reason is shown to verifiers."
        )
    if len(reason) > REASON_LENGTH:
        raise RevocationRefused(f"Keep the reason under {REASON_LENGTH} characters.")
    if certificate.is_revoked:
        raise RevocationRefused("This certificate is already revoked.")
    certificate.revoked_at = at or utcnow()
    certificate.revoked_by_id = by.id
    certificate.revocation_reason = reason
    audit(
        "certificate.revoke",
        target=f"certificate {certificate.id} ({certificate.title})",
        details={"reason": reason},
        subject=db.session.get(User, certificate.user_id),
        actor=by,
        commit=False,  # the event is committed with the revocation, or neither is
    )
    db.session.commit()
