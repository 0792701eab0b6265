"""Users, roles, sign-in, invitations and API tokens."""

from __future__ import annotations

from flask import Blueprint, Flask, request

from lms.auth.access import role_required  # noqa: F401  (re-exported)
from lms.auth.models import Role, User
from lms.extensions import db, login_manager

bp = Blueprint("auth", __name__, template_folder="templates")

from lms.auth import views  # noqa: E402,F401  (routes attach to bp)


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    @login_manager.user_loader
    def _load_user(user_id: str) -> User | None:
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

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

    @app.context_processor
    def _auth_helpers():
        from lms.auth.services import self_registration_open

        return {
            "self_registration_open": lambda: self_registration_open(
                app.config["LMS_SELF_REGISTRATION"]
            ),
            "Role": Role,
        }
