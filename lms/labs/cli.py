"""`lms labs ...`: build lab images, list running labs, reap expired ones."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from lms.content.lab_parser import load_labs


@click.group("labs", help="Lab images and running labs.")
def labs():
    pass


@labs.command("build")
@click.argument("slug", required=False)
@click.option("--force", is_flag=True, help="Rebuild even when the content tag exists.")
@click.option("--quiet", "-q", is_flag=True, help="Only say what is built or up to date.")
@with_appcontext
def build_command(slug, force, quiet):
    """Build the images of every lab (or of SLUG), tagged by content: unchanged labs are skipped."""
    from lms.labs.app_runtime import lab_image_builder
    from lms.labs.runtime import EngineUnavailable, LabError

    labs_dir = Path(current_app.config["LMS_LABS_DIR"])
    specs, issues = load_labs(labs_dir)
    if slug:
        issues = [i for i in issues if Path(i.path).parent.name == slug]
        if slug not in specs and not issues:
            raise click.ClickException(f"no lab '{slug}' in {labs_dir}")
        specs = {slug: specs[slug]} if slug in specs else {}
    for issue in issues:
        click.echo(str(issue), err=True)
    builder = lab_image_builder()

    def say(line: str) -> None:
        if not quiet or ": building " in line or "up to date" in line:
            click.echo(f"  {line}")

    failed = bool(issues)
    for name, spec in sorted(specs.items()):
        click.echo(f"{name}: {spec.title}")
        try:
            tags = builder.build(spec, progress=say, force=force)
        except EngineUnavailable as exc:
            raise click.ClickException(str(exc)) from None
        except LabError as exc:
            click.echo(f"  failed: {exc}", err=True)
            failed = True
            continue
        for container, tag in sorted(tags.items()):
            click.echo(f"  {container}: {tag}")
    if failed:
        sys.exit(1)


@labs.command("ls")
@with_appcontext
def ls_command():
    """Running labs: sessions of the database, and what the engine holds."""
    from lms.labs.overview import limits as platform_limits
    from lms.labs.overview import platform_labs

    overview = platform_labs(ask_engine=True)  # not a web request: ask the engine now
    limits = platform_limits()
    click.echo(
        f"{len(overview.sessions)} live lab sessions "
        f"(limits: {limits['per_user']} per trainee, {limits['total']} in all)"
    )
    if overview.sessions:
        click.echo(
            f"{'ID':>5}  {'STATUS':9} {'LAB':20} {'TRAINEE':28} {'LEFT':>8}  {'NODE':16} KEY"
        )
    for session in overview.sessions:
        left = session.seconds_left()
        engine_note = ""
        if (
            overview.on_engine is not None
            and session.status == "running"
            and session.key not in overview.running_keys
        ):
            engine_note = "  (no containers on the engine)"
        node = overview.node_of(session) or "-"
        click.echo(
            f"{session.id:>5}  {session.status:9} {session.lab_slug:20} "
            f"{session.user.email:28} {left // 60:>5} min  {node:16} {session.key}{engine_note}"
        )
    for node in overview.nodes:
        maximum = "no maximum" if node.max_labs is None else f"of {node.max_labs}"
        full = " (full)" if node.full else ""
        click.echo(f"node {node.name}: {node.running} lab(s) running, {maximum}{full}")
    _echo_workers()
    if overview.engine_error:
        click.echo(f"engine: {overview.engine_error}", err=True)
        sys.exit(1)
    for lab in overview.orphans:
        click.echo(
            f"orphan on the engine: {lab.session_key} ({lab.lab_slug}, owner "
            f"{lab.owner}): `lms labs reap` removes it"
        )


def _echo_workers() -> None:
    """The lab workers that reported lately, and the queue."""
    from sqlalchemy import func, select

    from lms.extensions import db
    from lms.labs.health import live_workers
    from lms.labs.jobs import OPEN_STATUSES, LabJob

    counts = dict(
        db.session.execute(
            select(LabJob.status, func.count())
            .where(LabJob.status.in_(OPEN_STATUSES))
            .group_by(LabJob.status)
        ).all()
    )
    found = live_workers()
    click.echo(
        f"lab jobs: {counts.get('queued', 0)} queued, {counts.get('running', 0)} running; "
        f"{len(found)} lab worker(s) reporting"
    )
    for worker in found:
        engine = {True: "up", False: "down", None: "not checked"}[worker.engine_up]
        click.echo(f"  {worker.mode:8} {worker.identity}  engine {engine}")


@labs.command("reap")
@with_appcontext
def reap_command():
    """Stop expired labs and reconcile the engine with the database (orphans, vanished labs)."""
    from lms.labs import leases
    from lms.labs.reaper import SWEEP_LEASE, SWEEP_TTL, reconcile

    # One sweep at a time across processes: a lab worker may be sweeping right now.
    if not leases.acquire(SWEEP_LEASE, SWEEP_TTL):
        raise click.ClickException("a lab worker is sweeping right now: try again in a minute")
    try:
        report = reconcile()
    finally:
        leases.release(SWEEP_LEASE)
    click.echo(
        f"expired: {len(report.expired)}, start timed out: {len(report.timed_out)}, "
        f"vanished: {len(report.vanished)}, orphans removed: {len(report.orphans)}, "
        f"interrupted starts finished: {len(report.resumed)}"
    )
    for key in report.expired:
        click.echo(f"  stopped expired {key}")
    for key in report.resumed:
        click.echo(f"  marked running (its start was interrupted) {key}")
    for key in report.vanished:
        click.echo(f"  marked vanished {key}")
    for key in report.orphans:
        click.echo(f"  removed orphan {key}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        sys.exit(1)


@labs.command("worker")
@click.option(
    "--threads",
    type=click.IntRange(1, 256),
    help="Jobs run at once (default: LMS_START_LAB_WORKERS).",
)
@with_appcontext
def worker_command(threads):
    """Run a lab worker: claim and run lab jobs (starts, stops, pool fills), reconcile at
    start, sweep every LMS_REAPER_INTERVAL seconds. Several may run on one database."""
    import logging
    import os
    import signal

    from lms.labs import leases, workers

    app = current_app._get_current_object()
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=os.environ.get("LMS_LOG_LEVEL", "info").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    worker = workers.run_external(app, threads)
    click.echo(
        f"lab worker {leases.process_identity()} running {worker.threads} jobs at a time "
        f"on {app.config['SQLALCHEMY_DATABASE_URI'].split('@')[-1]}"
    )

    def stop(signum, frame):  # SIGTERM (docker stop, systemd): finish the jobs in hand
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    worker.run_forever()
    click.echo("lab worker stopped")
