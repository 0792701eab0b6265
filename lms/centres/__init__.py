"""Centres, cohorts and reports: who trains whom, and how they are doing."""

from flask import Flask

from lms.auth import visibility
from lms.auth.models import Role
from lms.auth.signals import invitation_accepted
from lms.catalog import editing

# Importing the view modules attaches their routes to bp; models makes the tables known to Alembic.
from lms.centres import (  # noqa: F401
    access,
    api,
    centre_views,
    cohort_views,
    home_views,
    invitations,
    lab_pool_views,
    leaderboard,
    models,
    report_views,
    services,
    trainee_views,
)
from lms.centres.blueprint import bp  # noqa: F401  (registered by lms.create_app)
from lms.web.role_homes import register_role_home
from lms.xapi import events as xapi_events


def init_app(app: Flask) -> None:
    from lms.centres.cli import centres_cli

    app.cli.add_command(centres_cli)
    # The trainee's home page: assigned courses and due dates come from the cohorts.
    register_role_home(app, Role.TRAINEE.value, trainee_views.trainee_home_page)
    # Auth announces accepted invitations; centres puts the person in the cohort named.
    invitation_accepted.connect(invitations.join_invited_cohort)
    # The trainee's points page (progress) shows their cohorts' leaderboards.
    app.context_processor(lambda: {"my_leaderboards": leaderboard.my_leaderboards})
    # Labs and the terminal ask lms.auth.visibility whose work a person may see.
    visibility.register_rule(app, access.visible_trainee_ids)
    # Authoring and the menu ask lms.catalog.editing which courses an instructor edits.
    editing.register_rule(app, access.editable_course_slugs)
    # "/" shows each staff role its own home (lms.web.role_homes).
    home_views.register(app)
    # xAPI statements name the trainee's cohorts and centres in their context.
    if services.xapi_grouping not in xapi_events.grouping_rules:
        xapi_events.grouping_rules.append(services.xapi_grouping)
