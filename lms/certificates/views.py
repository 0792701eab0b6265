"""Certificate pages: the trainee's printable certificate, its PDF and credential; the
public verification page; revocation; the key set, issuer profile and revocation list."""

from __future__ import annotations

import json
from uuid import UUID

import segno
from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.certificates import services, signing
from lms.certificates.blueprint import bp
from lms.certificates.models import Certificate
from lms.certificates.verifier import Verification, verify_credential
from lms.extensions import db
from lms.web import form_page

# What a pasted credential may weigh: a real one is a few kilobytes.
MAX_PASTED = 20_000


def _certificate_or_404(certificate_id: UUID) -> Certificate:
    certificate = db.session.get(Certificate, str(certificate_id))
    if certificate is None:
        abort(404, description="There is no certificate at this address.")
    return certificate


def _viewable_or_abort(certificate_id: UUID) -> Certificate:
    certificate = _certificate_or_404(certificate_id)
    if not services.may_view(current_user, certificate):
        abort(403, description="This certificate is not yours.")
    return certificate


def _verify_url(certificate: Certificate) -> str:
    return url_for("certificates.verify", certificate_id=certificate.id, _external=True)


@bp.get("/certificates/<uuid:certificate_id>")
@login_required
def certificate(certificate_id: UUID):
    certificate = _viewable_or_abort(certificate_id)
    verify_url = _verify_url(certificate)
    return render_template(
        "certificates/certificate.html",
        certificate=certificate,
        verify_url=verify_url,
        qr_code=segno.make(verify_url, error="m").svg_data_uri(scale=4, border=2),
        may_revoke=services.may_revoke(current_user, certificate),
        reason_length=services.REASON_LENGTH,
    )


@bp.get("/certificates/<uuid:certificate_id>.pdf")
@login_required
def certificate_pdf(certificate_id: UUID):
    from lms.certificates.pdf import certificate_pdf as render_pdf

    certificate = _viewable_or_abort(certificate_id)
    return Response(
        render_pdf(certificate, _verify_url(certificate)),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{certificate.id}.pdf"'},
    )


@bp.get("/certificates/<uuid:certificate_id>/credential.jwt")
@login_required
def credential_jwt(certificate_id: UUID):
    """The signed credential itself: what wallets and verifiers take."""
    certificate = _viewable_or_abort(certificate_id)
    return Response(
        certificate.credential,
        mimetype="application/vc+jwt",
        headers={"Content-Disposition": f'attachment; filename="credential-{certificate.id}.jwt"'},
    )


@bp.get("/certificates/<uuid:certificate_id>/credential.json")
@login_required
def credential_json(certificate_id: UUID):
    """The credential's content, readable (the signature is in the .jwt)."""
    certificate = _viewable_or_abort(certificate_id)
    content = verify_credential(certificate.credential, signing.public_jwks()).credential
    return Response(
        json.dumps(content, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="credential-{certificate.id}.json"'},
    )


@bp.post("/certificates/<uuid:certificate_id>/revoke")
@form_page("certificates.certificate")
@login_required
def revoke(certificate_id: UUID):
    certificate = _certificate_or_404(certificate_id)
    if not services.may_revoke(current_user, certificate):
        abort(
            403, description="Only a platform admin or an admin of the trainee's centre may revoke."
        )
    try:
        services.revoke(certificate, current_user, request.form.get("reason", ""))
    except services.RevocationRefused as exc:
        flash(str(exc), "error")
    else:
        flash(_("The certificate is revoked. Its verification page now says so."), "success")
    return redirect(url_for("certificates.certificate", certificate_id=certificate.id))


@bp.get("/certificates/<uuid:certificate_id>/verify")
def verify(certificate_id: UUID):
    """Public: what the QR code opens. Checks the stored credential as any verifier would."""
    certificate = db.session.get(Certificate, str(certificate_id))
    if certificate is None:
        result = Verification("invalid", "No certificate was issued under this number.")
        return render_template("certificates/verify.html", result=result), 404
    return render_template(
        "certificates/verify.html", result=services.verify(certificate.credential)
    )


@bp.route("/certificates/verify", methods=["GET", "POST"])
def verify_pasted():
    """Public: paste a credential (the .jwt a trainee downloaded) to check it."""
    result, pasted = None, ""
    if request.method == "POST":
        pasted = request.form.get("credential", "").strip()
        if not pasted:
            flash(_("Paste the credential (the contents of the .jwt file) to check it."), "error")
        elif len(pasted) > MAX_PASTED:
            flash(_("That is far longer than a credential."), "error")
        else:
            result = services.verify(pasted)
    return render_template(
        "certificates/verify.html", result=result, pasted=pasted, paste_form=True
    )


@bp.get("/.well-known/jwks.json")
def jwks():
    return jsonify(signing.public_jwks())


@bp.get("/certificates/issuer.json")
def issuer_profile():
    return jsonify(services.issuer_profile())


@bp.get("/certificates/revocations.json")
def revocation_list():
    response = jsonify(services.revocation_list())
    response.headers["Cache-Control"] = "no-cache"  # a verifier must see a revocation at once
    return response
