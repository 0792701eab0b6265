"""Centres, cohorts and reports: who trains whom, and how they are doing."""

from flask import Blueprint, Flask

from lms.auth.signals import invitation_accepted
from lms.centres import models  # noqa: F401  (tables known to Alembic)

bp = Blueprint(
    "centres",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/centres/static",
)

from lms.centres import api, report_views, services, views  # noqa: E402,F401  (routes attach to bp)


def init_app(app: Flask) -> None:
    from lms.centres.cli import centres_cli

    app.cli.add_command(centres_cli)
    # Auth announces accepted invitations; centres puts the person in the cohort named.
    invitation_accepted.connect(services.join_invited_cohort)
