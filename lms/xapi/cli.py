"""`lms xapi ...`: flush the statement queue once, and report on it."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.xapi.statements import configuration_problems


@click.group("xapi", help="xAPI statements for the learning record store (LMS_XAPI_ENDPOINT).")
def xapi_cli():
    pass


@xapi_cli.command("send")
@click.option(
    "--requeue-rejected",
    is_flag=True,
    help="Queue the statements the LRS rejected again first (after fixing the LRS).",
)
@with_appcontext
def send_command(requeue_rejected):
    """Send every queued statement now, whatever its backoff; exit 1 when some are left
    queued because the LRS failed."""
    from lms.xapi import sender

    if sender.statements_url() is None:
        raise click.ClickException("xAPI is off: LMS_XAPI_ENDPOINT is not set.")
    if requeue_rejected:
        click.echo(f"queued again: {sender.requeue_rejected()} rejected statement(s)")
    report = sender.send_due(force=True)
    pruned = sender.prune()
    click.echo(f"sent {report.sent}, rejected {report.rejected}, left queued {report.deferred}")
    if pruned:
        click.echo(f"deleted {pruned} statement(s) sent more than {sender.KEEP_SENT.days} days ago")
    if report.error:
        click.echo(f"last error: {report.error}")
    if report.deferred:
        sys.exit(1)


@xapi_cli.command("status")
@with_appcontext
def status_command():
    """Queue length, oldest queued statement, last error."""
    from lms.xapi import sender

    endpoint = sender.statements_url()
    status = sender.queue_status()
    click.echo(f"endpoint: {endpoint or 'none (xAPI is off: LMS_XAPI_ENDPOINT is not set)'}")
    for problem in configuration_problems(current_app.config):
        click.echo(f"warning: {problem}")
    click.echo(f"queued: {status.queued}")
    if status.oldest_queued_at:
        click.echo(f"oldest queued: {status.oldest_queued_at:%Y-%m-%d %H:%M:%S} UTC")
    click.echo(f"sent (kept {sender.KEEP_SENT.days} days): {status.sent}")
    click.echo(f"rejected: {status.rejected}")
    if status.last_error:
        click.echo(
            f"last error ({status.last_error_at:%Y-%m-%d %H:%M:%S} UTC): {status.last_error}"
        )
