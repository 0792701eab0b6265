"""The tool's URLs an LMS is given (configuration, keys, login initiation, launch), the
launch itself, deep linking, and the platform admin's registrations page."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from flask import (
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_user
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException, ToolConfException
from sqlalchemy import select

from lms.audit.services import record
from lms.auth import two_factor
from lms.auth.access import role_required
from lms.auth.account_views import second_factor_step
from lms.auth.models import Role
from lms.centres.models import Centre
from lms.extensions import csrf, db, limiter
from lms.lti import forms, services, tool
from lms.lti.blueprint import bp
from lms.lti.models import LtiGradeLink, LtiPlatform, LtiScore
from lms.web import CONTENT_SECURITY_POLICY

TOOL_TITLE = "Cyber Range LMS"
# What can go wrong checking a launch: pylti1p3's refusals, the platform's key set not
# answering, a malformed token.
LAUNCH_ERRORS = (
    LtiException,
    OIDCException,
    ToolConfException,
    requests.RequestException,
    KeyError,
    ValueError,
    TypeError,
)


# -- what an LMS is given ----------------------------------------------------------------


@bp.get("/lti/config.json")
def configuration():
    """The URLs and keys an LMS administrator enters when adding the tool."""
    launch_url = url_for("lti.launch", _external=True)
    return jsonify(
        {
            "title": TOOL_TITLE,
            "description": "Markdown courses with per-trainee labs in the browser.",
            "oidc_initiation_url": url_for("lti.login", _external=True),
            "target_link_uri": url_for("lti.launch", _external=True),
            "redirect_uris": [url_for("lti.launch", _external=True)],
            "public_jwk_url": url_for("lti.jwks", _external=True),
            "deep_linking_url": url_for("lti.launch", _external=True),
            "domain": request.host,
            "scopes": [
                "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            ],
            "claims": ["sub", "iss", "name", "email"],
            "messages": ["LtiResourceLinkRequest", "LtiDeepLinkingRequest"],
            # Canvas reads the keys above and this extension ("Paste JSON" or "Enter URL").
            "extensions": [
                {
                    "platform": "canvas.instructure.com",
                    "privacy_level": "public",  # name and e-mail in launches
                    "settings": {
                        "placements": [
                            {
                                "placement": placement,
                                "message_type": "LtiDeepLinkingRequest",
                                "target_link_uri": launch_url,
                            }
                            for placement in ("link_selection", "assignment_selection")
                        ]
                    },
                }
            ],
        }
    )


@bp.get("/lti/jwks.json")
def jwks():
    return jsonify(tool.jwks())


# -- OIDC login initiation and the launch ------------------------------------------------


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt  # the LMS posts here; OIDC state and nonce protect the flow
@limiter.limit("60 per minute")
def login():
    """Step one: the LMS names itself; the browser goes to its authentication URL."""
    iss = request.values.get("iss", "")
    if tool.find_platform(iss, request.values.get("client_id")) is None:
        return _refused(
            "This LMS is not registered with this platform. Ask a platform administrator "
            "to register it (LTI 1.3 platforms)."
        )
    try:
        oidc = FlaskOIDCLogin(
            FlaskRequest(), tool.DatabaseToolConf(), launch_data_storage=tool.LaunchStorage()
        )
        return oidc.redirect(url_for("lti.launch", _external=True))
    except LAUNCH_ERRORS as exc:
        return _refused(f"The LMS's sign-in request is incomplete ({exc}).")


@bp.post("/lti/launch")
@csrf.exempt  # the LMS's form post; the id_token's signature and nonce protect it
@limiter.limit("60 per minute")
def launch():
    """Step two: the signed id_token. Checked (state, signature against the platform's
    key set, nonce used once, deployment), then a resource link or a deep link request."""
    try:
        message = FlaskMessageLaunch(
            FlaskRequest(),
            tool.DatabaseToolConf(),
            launch_data_storage=tool.LaunchStorage(),
            requests_session=tool.TimeoutSession(),
        )
        claims = message.get_launch_data()
    except LAUNCH_ERRORS as exc:
        db.session.rollback()
        return _refused(_explain(exc))
    platform = tool.find_platform(claims["iss"], _client_id(claims))
    try:
        if message.is_deep_link_launch():
            return _deep_link_picker(platform, claims, message.get_launch_id())
        if not message.is_resource_launch():
            return _refused("This kind of LTI message is not supported.")
        return _open(platform, claims)
    except services.LaunchRefused as exc:
        return _refused(str(exc))


def _client_id(claims: dict) -> str:
    aud = claims.get("aud")
    return claims.get("azp") or (aud[0] if isinstance(aud, list) else aud)


def _open(platform: LtiPlatform, claims: dict):
    target = services.target_of(claims, request.host)
    user = services.account_for(platform, claims)
    cohort = services.cohort_for(platform, claims)
    if cohort is not None:
        services.join(cohort, user, target.course)
    if target.module is not None:
        services.remember_line_item(platform, user, target.module, claims)
    db.session.commit()
    if target.module is not None:
        next_url = url_for(
            "catalog.module", slug=target.course.slug, module_slug=target.module.slug
        )
    elif target.course is not None:
        next_url = url_for("catalog.course", slug=target.course.slug)
    else:
        next_url = url_for("progress.home")
    if two_factor.is_enabled(user):
        return second_factor_step(user, False, next_url)
    login_user(user)
    return redirect(next_url)


def _explain(exc: Exception) -> str:
    text = str(exc)
    if "nonce" in text.lower():
        return "This launch was used already. Open the link in your LMS again."
    if "decode id_token" in text or "signature" in text.lower():
        return "The launch's signature did not match the LMS's published keys."
    if "state" in text.lower():
        return "This launch was not started here or is stale. Open the link in your LMS again."
    if isinstance(exc, requests.RequestException):
        return "The LMS's public keys could not be fetched. Try again later."
    return f"The launch did not pass the checks ({text})."


def _refused(message: str, status: int = 400):
    """A page that says why (a refused launch is never a 500)."""
    return render_template("lti/refused.html", message=message), status


# -- deep linking ------------------------------------------------------------------------


def _deep_link_picker(platform: LtiPlatform, claims: dict, launch_id: str):
    if not services.is_teaching(claims):
        raise services.LaunchRefused("Only instructors add modules to an LMS course.")
    from lms.catalog.models import Course

    courses = db.session.scalars(
        select(Course).where(Course.is_published).order_by(Course.title)
    ).all()
    return render_template("lti/deep_link.html", courses=courses, launch_id=launch_id)


@bp.post("/lti/deep-link/<launch_id>")
@csrf.exempt  # in the LMS's frame the form carries the launch id, kept server-side
def deep_link_response(launch_id: str):
    """The instructor's choice, signed for the LMS as ltiResourceLink items."""
    from pylti1p3.deep_link_resource import DeepLinkResource
    from pylti1p3.lineitem import LineItem

    from lms.catalog.models import Module

    try:
        message = FlaskMessageLaunch.from_cache(
            launch_id,
            FlaskRequest(),
            tool.DatabaseToolConf(),
            launch_data_storage=tool.LaunchStorage(),
        )
        if not message.is_deep_link_launch():
            raise LtiException("not a deep linking launch")
    except LAUNCH_ERRORS:
        return _refused("This choice belongs to a stale LMS request. Start again from the LMS.")
    wanted = [int(v) for v in request.form.getlist("module") if v.isdigit()]
    modules = db.session.scalars(select(Module).where(Module.id.in_(wanted))).all()
    resources = [
        DeepLinkResource()
        .set_url(url_for("lti.launch", _external=True))
        .set_title(f"{m.course.title}: {m.title}")
        .set_custom_params({"course": m.course.slug, "module": m.slug})
        .set_lineitem(
            LineItem().set_score_maximum(1.0).set_label(m.title).set_resource_id(str(m.id))
        )
        for m in modules
    ]
    deep_link = message.get_deep_link()
    return_url = message.get_launch_data()[services.DEEP_LINK_CLAIM]["deep_link_return_url"]
    response = make_response(
        render_template(
            "lti/deep_link_return.html",
            return_url=return_url,
            jwt=deep_link.get_response_jwt(resources),
            count=len(resources),
        )
    )
    # The form goes back to the LMS: that origin, and only it, is a form target here.
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(return_url))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return response


# -- registrations -----------------------------------------------------------------------


@bp.route("/lti/platforms", methods=["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def platforms():
    return _platform_page(None)


@bp.route("/lti/platforms/<int:platform_id>", methods=["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def platform(platform_id: int):
    return _platform_page(db.session.get(LtiPlatform, platform_id) or abort(404))


def _platform_page(platform: LtiPlatform | None):
    form = forms.PlatformForm(obj=platform)
    form.centre_id.choices = [
        (c.id, c.name) for c in db.session.scalars(select(Centre).order_by(Centre.name))
    ]
    if form.validate_on_submit():
        clash = db.session.scalar(
            select(LtiPlatform).where(
                LtiPlatform.issuer == form.issuer.data.strip(),
                LtiPlatform.client_id == form.client_id.data.strip(),
            )
        )
        if clash is not None and clash is not platform:
            flash(_("This issuer and client ID are registered already."), "danger")
        else:
            created = platform is None
            platform = platform or LtiPlatform()
            form.populate_obj(platform)
            platform.issuer, platform.client_id = (
                platform.issuer.strip(),
                platform.client_id.strip(),
            )
            platform.deployment_ids = "\n".join(platform.deployment_list)
            db.session.add(platform)
            db.session.flush()
            record(
                "lti.platform_added" if created else "lti.platform_changed",
                details={"issuer": platform.issuer, "client_id": platform.client_id},
                centre_id=platform.centre_id,
            )
            flash(_("%(platform_name)s is saved.", platform_name=platform.name), "success")
            return redirect(url_for("lti.platform", platform_id=platform.id))
    registered = db.session.scalars(select(LtiPlatform).order_by(LtiPlatform.name)).all()
    failed = db.session.scalars(
        select(LtiScore)
        .join(LtiGradeLink)
        .where(LtiScore.sent_at.is_(None))
        .order_by(LtiScore.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "lti/platforms.html",
        form=form,
        platform=platform,
        registered=registered,
        failed_scores=failed,
        remove_form=forms.RemovePlatformForm(prefix="remove"),
        tool_urls={
            "Login initiation URL": url_for("lti.login", _external=True),
            "Redirect (launch) URL": url_for("lti.launch", _external=True),
            "Deep linking URL": url_for("lti.launch", _external=True),
            "Public keyset (JWKS) URL": url_for("lti.jwks", _external=True),
            "Configuration (JSON)": url_for("lti.configuration", _external=True),
        },
    )


@bp.post("/lti/platforms/<int:platform_id>/remove")
@role_required(Role.PLATFORM_ADMIN)
def remove_platform(platform_id: int):
    platform = db.session.get(LtiPlatform, platform_id) or abort(404)
    if forms.RemovePlatformForm(prefix="remove").validate_on_submit():
        details = {"issuer": platform.issuer, "client_id": platform.client_id}
        services.forget_platform(platform)
        record("lti.platform_removed", details=details, commit=False)
        db.session.commit()
        flash(_("The platform is removed; its launches are refused from now on."), "success")
    return redirect(url_for("lti.platforms"))
