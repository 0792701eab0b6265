"""Single sign-on: each centre may let its people sign in with its own OpenID Connect
provider (lms.sso.services says who signs in to which account)."""

from flask import Flask

from lms.sso import models, views  # noqa: F401  (tables for Alembic; routes attach to bp)
from lms.sso.blueprint import bp  # noqa: F401  (registered by lms.create_app)


def init_app(app: Flask) -> None:
    from lms.sso.services import sign_in_options

    # The sign-in page (lms.auth) shows a button per enabled issuer; auth knows no domain.
    app.context_processor(lambda: {"sso_sign_in_options": sign_in_options})
