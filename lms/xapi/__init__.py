"""xAPI: statements of learning events for a learning record store (LRS).

Where events are recorded (``lms.progress``, ``lms.labs``), a small call of
``lms.xapi.events`` adds a statement to the same transaction (``xapi_statements``);
senders (``lms.xapi.sender``) deliver them in batches, with retries, off the request.
Off while ``LMS_XAPI_ENDPOINT`` is unset. Centres add their cohorts and centres to each
statement's context through ``events.grouping_rules``.
"""

from __future__ import annotations

import logging

from flask import Flask

from lms.xapi import models  # noqa: F401  (the table, for create_all and Alembic)

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from lms.xapi import sender
    from lms.xapi.cli import xapi_cli
    from lms.xapi.statements import configuration_problems

    app.cli.add_command(xapi_cli)
    for problem in configuration_problems(app.config):
        log.error("xAPI: %s", problem)

    @app.before_request
    def _start_xapi_sender_once():
        # Web processes send when lab workers run inline (LMS_LAB_WORKER=inline); with
        # external workers, `lms labs worker` processes do. Tests send when they mean to.
        if (
            sender.SENDER_KEY not in app.extensions
            and app.config.get("LMS_XAPI_ENDPOINT")
            and not app.config.get("TESTING")
            and str(app.config.get("LMS_LAB_WORKER") or "inline").lower() != "external"
        ):
            sender.start_in_process(app)
