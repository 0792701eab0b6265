"""`lms certificates ...`: issue the certificates of completions that have none."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("certificates", help="Certificates of completed courses and programmes.")
def certificates_cli():
    pass


@certificates_cli.command("issue")
@click.option(
    "--base-url",
    required=True,
    help="The platform's public address (https://lms.example.org): certificates link to it.",
)
@with_appcontext
def issue_command(base_url: str):
    """Issue the certificates every completed course (and programme) should have:
    completions made before certificates existed, or whose issue failed."""
    from lms.certificates import services

    if not base_url.startswith(("https://", "http://")):
        raise click.BadParameter(
            "give the address with its scheme, https://...", param_hint="--base-url"
        )
    with current_app.test_request_context(base_url=base_url.rstrip("/")):
        issued = services.issue_missing()
    click.echo(f"{len(issued)} certificate(s) issued")
