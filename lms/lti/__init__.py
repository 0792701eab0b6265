"""LTI 1.3 tool: a university LMS (Moodle, Canvas, Open edX) launches courses and modules
with its user signed in and enrolled into the cohort of the LMS course, deep-links
modules into its course, and receives a score when a launched module is completed.
pylti1p3 (pylti1p3next) checks the launches; lms.lti.tool gives it the registrations."""

from flask import Flask, request

from lms.lti import models, views  # noqa: F401  (tables for Alembic; routes attach to bp)
from lms.lti.blueprint import bp  # noqa: F401  (registered by lms.create_app)


def init_app(app: Flask) -> None:
    from lms.lti import grades
    from lms.lti.cli import lti_cli
    from lms.progress.signals import module_completed

    app.cli.add_command(lti_cli)
    module_completed.connect(grades.on_module_completed)
    origins = (app.config.get("LMS_LTI_FRAME_ANCESTORS") or "").split()
    if origins:
        _allow_framing_by(app, origins)


def _allow_framing_by(app: Flask, origins: list[str]) -> None:
    """Pages shown in an LMS's iframe: the LMS origins may frame them, and the session
    cookie goes with cross-site requests (SameSite=None, which browsers accept only with
    Secure: such a platform is served over HTTPS)."""
    from lms.web import CONTENT_SECURITY_POLICY

    app.config.update(
        SESSION_COOKIE_SAMESITE="None",
        REMEMBER_COOKIE_SAMESITE="None",
        LMS_COOKIE_SECURE=True,
        SESSION_COOKIE_SECURE=True,
    )
    policy = CONTENT_SECURITY_POLICY.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self' " + " ".join(origins)
    )

    @app.after_request
    def _framable(response):
        # Runs before lms.web's headers (registered later runs first), which keep it.
        # A browser ignores X-Frame-Options when the policy names frame-ancestors.
        if request.blueprint != "terminal":
            response.headers.setdefault("Content-Security-Policy", policy)
            response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
