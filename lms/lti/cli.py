"""``lms lti``: send the scores an LMS has not taken yet."""

import click
from flask.cli import with_appcontext

lti_cli = click.Group("lti", help="LTI 1.3: scores for the LMSs that launched modules.")


@lti_cli.command("send-scores")
@with_appcontext
def send_scores():
    """Send every queued score again (those whose first sending failed)."""
    from lms.lti.grades import send_pending

    sent, failed = send_pending()
    click.echo(f"{sent} score(s) sent, {failed} not sent (see their errors on /lti/platforms).")
    if failed:
        raise SystemExit(1)
