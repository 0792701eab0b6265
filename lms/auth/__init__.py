"""Users, roles, sign-in, invitations and API tokens."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from lms.auth.access import role_required  # noqa: F401  (re-exported)
from lms.auth.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)
from lms.auth.models import Role, User
from lms.extensions import db, login_manager

PRIVATE_MIMETYPES = {"text/html", "application/json"}

from lms.auth import views  # noqa: E402,F401  (routes attach to bp)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return user_for_session_id(user_id)

    @login_manager.request_loader
    def _load_from_bearer(req) -> User | None:
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        from lms.auth.services import user_for_token

        return user_for_token(header.removeprefix("Bearer ").strip())

    @login_manager.unauthorized_handler
    def _unauthorized():
        from flask import flash, redirect, url_for

        from lms.web import error_response, wants_json

        if wants_json():
            return error_response(
                401, "Sign in, or send an API token as 'Authorization: Bearer ...'.", "unauthorized"
            )
        flash(login_manager.login_message, "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    app.session_interface = SecureWhenHttpsSessionInterface()
    app.after_request(_private_pages_are_not_stored)

    @app.context_processor
    def _auth_helpers():
        from lms.auth.services import self_registration_open

        return {
            "self_registration_open": lambda: self_registration_open(
                app.config["LMS_SELF_REGISTRATION"]
            ),
            "Role": Role,
        }


def user_for_session_id(session_id: str) -> User | None:
    """The user of a session or remember-me cookie (``"<id>:<session version>"``, see
    User.get_id), or None once the user's sessions were ended. A bare ``"<id>"`` (a
    cookie made before session versions) counts as version 0."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not (version or "0").isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or (user.session_version or 0) != int(version or "0"):
        return None
    return user


def _cookies_must_be_secure() -> bool:
    return request.is_secure or current_app.config["LMS_COOKIE_SECURE"]


class SecureWhenHttpsSessionInterface(SecureCookieSessionInterface):
    """Cookies get the Secure flag whenever the request came over HTTPS (directly, or
    through a trusted proxy: LMS_TRUSTED_PROXIES), and always with LMS_COOKIE_SECURE.

    Flask reads SESSION_COOKIE_SECURE once for all requests; this decides per request.
    The session is saved after every ``after_request`` function, Flask-Login's remember-me
    cookie included, so this is also the place to mark that one."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or _cookies_must_be_secure()

    def save_session(self, app: Flask, session, response) -> None:
        super().save_session(app, session, response)
        if not _cookies_must_be_secure():
            return
        cookies = response.headers.getlist("Set-Cookie")
        if any("; secure" not in c.lower() for c in cookies):
            response.headers.setlist(
                "Set-Cookie",
                [c if "; secure" in c.lower() else c + "; Secure" for c in cookies],
            )


def _private_pages_are_not_stored(response):
    """Pages and API answers about a signed-in person stay out of shared and browser
    caches (no-store); static files keep their caching. Over HTTPS, browsers are told to
    come back over HTTPS only (HSTS)."""
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if request.endpoint == "static" or response.mimetype not in PRIVATE_MIMETYPES:
        return response
    # The session, not current_user: no database query on the way out (nor a second
    # failure when the database is what failed).
    if request.path.startswith("/api/") or "_user_id" in session:
        response.headers["Cache-Control"] = "no-store"
    return response
