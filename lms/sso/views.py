"""The SSO settings page of a centre, and the two legs of the sign-in flow."""

from __future__ import annotations

from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from joserfc.errors import ExpiredTokenError, InvalidClaimError, JoseError

from lms.audit.services import record
from lms.auth import two_factor
from lms.auth.access import role_required
from lms.auth.account_views import second_factor_step
from lms.auth.models import Role
from lms.auth.views import safe_next
from lms.centres.access import centre_or_abort
from lms.extensions import db, limiter
from lms.sso import client_secrets, forms, services
from lms.sso.blueprint import bp

NEXT_KEY = "sso_next"


@bp.route("/centres/<slug>/sso", methods=["GET", "POST"])
@role_required(Role.CENTRE_ADMIN)
def settings(slug: str):
    """A centre admin configures their own centres' issuer; a platform admin any."""
    centre = centre_or_abort(slug, current_user)
    issuer = services.issuer_for_centre(centre)
    form = forms.IssuerForm(obj=issuer)
    if form.validate_on_submit():
        try:
            issuer, action, changes = services.save_issuer(
                centre,
                discovery_url=form.discovery_url.data,
                client_id=form.client_id.data,
                client_secret=form.client_secret.data or "",
                role_claim=form.role_claim.data or "",
                role_mapping=form.role_mapping.data or "",
                default_role=form.default_role.data,
                enabled=form.enabled.data,
            )
        except services.ConfigurationError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            if changes:
                _announce(centre, action, changes)
            flash(
                "Single sign-on is saved" + (" and switched on." if issuer.enabled else " (off)."),
                "success",
            )
            return redirect(url_for("sso.settings", slug=slug))
    return render_template(
        "sso/settings.html",
        centre=centre,
        issuer=issuer,
        form=form,
        remove_form=forms.RemoveIssuerForm(prefix="remove"),
        secret_hint=client_secrets.hint(issuer.client_secret_encrypted) if issuer else None,
        redirect_uri=url_for("sso.callback", slug=slug, _external=True),
    )


@bp.post("/centres/<slug>/sso/remove")
@role_required(Role.CENTRE_ADMIN)
def remove(slug: str):
    centre = centre_or_abort(slug, current_user)
    issuer = services.issuer_for_centre(centre)
    if forms.RemoveIssuerForm(prefix="remove").validate_on_submit() and issuer is not None:
        services.remove_issuer(issuer)
        _announce(centre, "removed", [])
        flash(_("Single sign-on is removed for this centre."), "success")
    return redirect(url_for("sso.settings", slug=slug))


def _announce(centre, action: str, changes: list[str]) -> None:
    """Into the audit log: who changed which centre's sign-on, what (the secret by name
    only), from where."""
    record(f"sso.{action}", centre, {"changes": changes} if changes else None, centre.id)


@bp.get("/sso/<slug>/login")
@limiter.limit("30 per minute")
def start(slug: str):
    """Send the browser to the centre's provider."""
    try:
        issuer = services.enabled_issuer(slug)
        client = services.oidc_client(issuer)
        session[NEXT_KEY] = request.args.get("next") or ""
        return client.authorize_redirect(url_for("sso.callback", slug=slug, _external=True))
    except services.SignInRefused as exc:
        return _refused(str(exc))
    except services.PROVIDER_ERRORS:
        return _refused("Your centre's identity provider does not answer. Try again later.", 502)


@bp.get("/sso/<slug>/callback")
@limiter.limit("30 per minute")
def callback(slug: str):
    """Back from the provider: check what it sent, then sign the person in."""
    try:
        issuer = services.enabled_issuer(slug)
        client = services.oidc_client(issuer)
        claims = services.verified_claims(issuer, client)
        user, created = services.account_for(issuer, claims)
    except services.SignInRefused as exc:
        return _refused(str(exc))
    except services.PROVIDER_ERRORS as exc:
        return _refused(_explain(exc))
    next_url = safe_next(session.pop(NEXT_KEY, ""))
    if two_factor.is_enabled(user):
        return second_factor_step(user, False, next_url)
    login_user(user)
    if created:
        flash(
            _("Welcome! Your account at %(centre_name)s is ready.", centre_name=issuer.centre.name),
            "success",
        )
    return redirect(next_url)


def _explain(exc: Exception) -> str:
    """What the person is told when the provider's answer does not pass."""
    if isinstance(exc, MismatchingStateError):
        return "This sign-in link is stale or was not started here. Start again."
    if isinstance(exc, OAuthError) and exc.error and exc.error != "mismatching_state":
        return f"Your identity provider refused the sign-in ({exc.description or exc.error})."
    if isinstance(exc, ExpiredTokenError):
        return "Your identity provider sent an expired sign-in token. Start again."
    if isinstance(exc, InvalidClaimError) and "aud" in str(exc):
        return "Your identity provider sent a token meant for another application."
    if isinstance(exc, JoseError):
        return "Your identity provider's sign-in token did not pass the checks."
    return "Your centre's identity provider did not answer properly. Try again later."


def _refused(message: str, status: int = 400):
    """A page that says why (a refusal is the person's or the provider's, never a 500)."""
    return render_template("sso/refused.html", message=message), status
