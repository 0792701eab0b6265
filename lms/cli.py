"""The `lms` command (docs/command-line.md): Flask's command group around ``create_app``.

The commands themselves are registered by the app: the platform's in ``lms.commands``,
the domains' (labs, centres) in their ``init_app``. Nothing in ``lms`` imports this module.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from lms import create_app


@click.group(cls=FlaskGroup, create_app=lambda: create_app(), add_default_commands=True)
def main():
    """Cyber Range LMS: courses, labs and cohorts."""
