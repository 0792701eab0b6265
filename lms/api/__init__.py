"""The JSON API (/api/v1): bearer tokens or the browser session; JSON errors."""

from __future__ import annotations

from flask import Flask, current_app, request

from lms.api import views  # noqa: E402,F401  (routes attach to bp)
from lms.api.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)
from lms.extensions import csrf


@bp.before_request
def _csrf_for_browser_sessions():
    """Token clients need no CSRF token; the browser session does (a cookie is ambient)."""
    if request.method in {"GET", "HEAD", "OPTIONS"} or not current_app.config.get(
        "WTF_CSRF_ENABLED", True
    ):
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return
    csrf.protect()


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
