"""Hands-on labs: sessions on the container engine, grading, per-trainee flags.

``lms.content.lab_library`` reads lab folders, ``lms.labs.runtime`` drives the engine;
this package adds the sessions (``services``), grading (``grading``,
``flags``), the reaper (``reaper``), the pages (``views``), the JSON API
(``api``, on the /api/v1 blueprint) and the ``lms labs`` commands (``cli``).

For the terminal: ``services.get_session_for(user, session_id, allow_staff)``
authorises access to a session, ``app_runtime.lab_runtime()`` opens shells (``workers``
runs starts and stops off the request, ``health`` tells whether the engine is up).
"""

from __future__ import annotations

from flask import Flask

from lms.labs import api, pool_views, views  # noqa: E402,F401  (routes attach to bp and the api blueprint)
from lms.labs.blueprint import bp  # noqa: E402,F401  (registered by lms.create_app)


def init_app(app: Flask) -> None:
    from flask_login import current_user

    from lms.labs import cli, engine_listing, grading, pool_cli, workers  # noqa: F401  (pool_cli adds `lms labs pool`)
    from lms.labs.errors import LabActionError
    from lms.progress import points
    from lms.progress import services as progress

    app.cli.add_command(cli.labs)
    if grading.lab_completion_rule not in progress.completion_rules:
        progress.completion_rules.append(grading.lab_completion_rule)
    if grading.lab_points not in points.points_sources:
        points.points_sources.append(grading.lab_points)
    app.register_error_handler(LabActionError, api.lab_error_response)

    @app.context_processor
    def _lab_panel():
        def lab_panel(module):
            from flask import g

            from lms.labs.panel import panel_for

            # Read once per request: the lab bar at the top and the panel below share it.
            cached = g.setdefault("lab_panels", {})
            if module.id not in cached:
                cached[module.id] = panel_for(current_user, module)
            return cached[module.id]

        return {"lab_panel": lab_panel}

    @app.before_request
    def _start_lab_worker_once():
        # With LMS_LAB_WORKER=inline the serving process runs a lab worker (jobs, reconcile,
        # reaper) started on its first request: create_app itself starts nothing (it also
        # serves the CLI and tests; a test's worker starts with its first job).
        if not app.config.get("TESTING") and workers.WORKER_KEY not in app.extensions:
            workers.inline_worker(app)
