"""The platform's own commands of the `lms` command line (docs/command-line.md); the
entry point that makes the app is ``lms.cli``.

Each command is thin: it parses arguments and calls a domain service. Domains
with commands of their own (labs, centres) add them in their ``init_app``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("init")
@with_appcontext
def init_command():
    """Create or migrate the database."""
    from lms.database import upgrade_database

    upgrade_database()
    click.echo(f"database ready: {current_app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}")


@click.command("demo")
@with_appcontext
def demo_command():
    """Create demo users (one per role), a centre and a cohort, a team exercise; sync
    shipped courses."""
    from lms.centres.demo import (
        DEMO_PASSWORD,
        DEMO_USERS,
        create_demo_programme,
        create_demo_users,
    )
    from lms.exercises.demo import create_demo_exercise

    report = _sync(current_app.config["LMS_COURSES_DIR"])
    create_demo_users()
    create_demo_programme()
    click.echo(create_demo_exercise())
    click.echo(f"demo accounts ready (password '{DEMO_PASSWORD}'):")
    for email, _name, role in DEMO_USERS:
        click.echo(f"  {role:15} {email}")
    if report.issues:
        sys.exit(1)


users = click.Group("users", help="Manage user accounts.")


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["trainee", "instructor", "centre_admin", "platform_admin"]),
    default="trainee",
    show_default=True,
)
@click.option("--centre", "centre_slug", help="Slug of the user's centre.")
@click.option("--name", default="", help="Full name.")
@click.option("--password", help="Prompted for when not given.")
@with_appcontext
def create_user_command(email, role, centre_slug, name, password):
    """Add a user."""
    from lms.audit.services import record
    from lms.auth import services as auth
    from lms.extensions import db

    centre_id = _centre_id(centre_slug) if centre_slug else None
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = auth.create_user(email, password, role=role, name=name, centre_id=centre_id)
        db.session.flush()
        record("user.create", user, {"role": role}, commit=False)
        db.session.commit()
    except auth.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {user.role} {user.email}")


def _centre_id(slug: str) -> int:
    from sqlalchemy import select

    from lms.centres.models import Centre
    from lms.extensions import db

    centre = db.session.scalar(select(Centre).where(Centre.slug == slug))
    if centre is None:
        raise click.ClickException(f"no centre '{slug}'")
    return centre.id


@users.command("token")
@click.argument("email")
@click.option("--label", default="cli", show_default=True)
@with_appcontext
def token_command(email, label):
    """Print a new API token for that user."""
    from lms.auth import services as auth

    user = auth.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    click.echo(auth.issue_token(user, label))


courses = click.Group("courses", help="Validate and import courses.")


@courses.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@with_appcontext
def check_command(path):
    """Validate courses and the labs they use; exit 1 with 'file:line: message' lines."""
    from lms.catalog.services import check_content, lab_warnings

    found, issues = check_content(path or current_app.config["LMS_COURSES_DIR"])
    for issue in issues:
        click.echo(str(issue))
    for warning in lab_warnings(found):  # printed, but they do not fail the check
        click.echo(str(warning))
    if issues:
        click.echo(f"{len(issues)} problem(s) found", err=True)
        sys.exit(1)
    click.echo(f"{len(found)} course(s) OK: {', '.join(c.slug for c in found)}")


@courses.command("sync")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False))
@with_appcontext
def sync_command(path):
    """Validate, then import or update courses in the database."""
    report = _sync(path or current_app.config["LMS_COURSES_DIR"])
    if report.issues:
        sys.exit(1)


def _sync(path):
    from lms.catalog.services import sync_courses

    report = sync_courses(Path(path))
    for issue in report.issues:
        click.echo(str(issue))
    for label in ("created", "updated", "unchanged"):
        slugs = getattr(report, label)
        if slugs:
            click.echo(f"{label}: {', '.join(slugs)}")
    if report.issues:
        click.echo(
            f"{len(report.issues)} problem(s): courses with problems were not imported; "
            "their previous version stays live",
            err=True,
        )
    return report


def register(app) -> None:
    for command in (init_command, demo_command, users, courses):
        app.cli.add_command(command)
