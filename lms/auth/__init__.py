"""Users, roles, sign-in, invitations and API tokens."""

from __future__ import annotations

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext
from sqlalchemy import bindparam, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from lms.auth.access import role_required  # noqa: F401  (re-exported)
from lms.auth.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)
from lms.auth.models import Role, User
from lms.extensions import db, login_manager

PRIVATE_MIMETYPES = {"text/html", "application/json"}

from lms.auth import account_views, admin_views, views  # noqa: E402,F401  (routes attach to bp)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Please sign in to see that page.")
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
        flash(str(login_manager.login_message), "info")
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
    session_ = db.session()
    known = session_.identity_map.get(identity_key(User, int(user_id)))
    if known is not None:
        user = known
    else:
        row = session_.connection().execute(_USER_ROW, {"user_id": int(user_id)}).first()
        user = row and _attached_user(session_, row)
    if user is None or (user.session_version or 0) != int(version or "0"):
        return None
    # Deactivation ends the sessions too (version bump); this also covers an account
    # switched off in the database by hand.
    return user if user.is_active else None


# Every signed-in request reads its user: one indexed SELECT through Core. An ORM load
# (Session.get) cost about a third of a signed-in page that renders nothing.
_USER_COLUMNS = {prop.key: prop.columns[0] for prop in sa_inspect(User).column_attrs}
_USER_ROW = select(*(column.label(key) for key, column in _USER_COLUMNS.items())).where(
    _USER_COLUMNS["id"] == bindparam("user_id")
)


def _attached_user(session_, row) -> User:
    """The row as a User of this request's session, as if the ORM had loaded it: its
    changes are flushed on commit and its relationships load when first read."""
    user = User(**row._mapping)
    make_transient_to_detached(user)
    session_.add(user)
    return user


def _cookies_must_be_secure() -> bool:
    return request.is_secure or current_app.config["LMS_COOKIE_SECURE"]


class SecureWhenHttpsSessionInterface(SecureCookieSessionInterface):
    """Cookies get the Secure flag whenever the request came over HTTPS (directly, or
    through a trusted proxy: LMS_TRUSTED_PROXIES), and always with LMS_COOKIE_SECURE.

    Flask reads SESSION_COOKIE_SECURE once for all requests; this decides per request.
    The session is saved after every ``after_request`` function, Flask-Login's remember-me
    cookie included, so this is also the place to mark that one."""

    _serializer: tuple = (None, None)  # (the keys it signs with, the serializer)

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or _cookies_must_be_secure()

    def get_signing_serializer(self, app: Flask):
        """One serializer per secret key (and fallbacks), not one per request: building
        it cost about as much as checking the cookie's signature."""
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached_keys, serializer = self._serializer
        if cached_keys != keys:
            serializer = super().get_signing_serializer(app)
            self._serializer = (keys, serializer)
        return serializer

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
