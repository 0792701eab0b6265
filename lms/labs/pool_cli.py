"""`lms labs pool ...`: warm lab pools (lms.labs.pools): list them, schedule, fill now."""

from __future__ import annotations

import sys
from datetime import datetime

import click
from flask.cli import with_appcontext

from lms.labs.cli import labs

TIME_FORMATS = ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]


@labs.group("pool", help="Warm lab pools: sessions started before trainees ask for them.")
def pool():
    pass


@pool.command("ls")
@with_appcontext
def ls_command():
    """Each pool: its target, ready, refilling, claimed, failed, memory, and schedules."""
    from lms.labs.pools import overview

    pools = overview()
    if not pools:
        click.echo("no lab pool (set `pool:` in a lab.yaml, or `lms labs pool schedule`)")
        return
    click.echo(
        f"{'LAB':24} {'TARGET':>6} {'READY':>5} {'REFILL':>6} {'CLAIMED':>7} {'FAILED':>6}  MEMORY"
    )
    for p in pools:
        memory = f"{p.memory_bytes / 1024**2:.0f} MiB (limit x sessions)"
        click.echo(
            f"{p.lab_slug:24} {p.target:>6} {p.ready:>5} {p.filling:>6} {p.claimed:>7} "
            f"{p.failed:>6}  {memory}"
        )
        if p.error:
            retry = f" (next try {p.retry_after:%H:%M:%S} UTC)" if p.retry_after else ""
            click.echo(f"  failing: {p.error}{retry}")
        for s in p.schedules:
            click.echo(
                f"  schedule #{s.id}: cohort {s.cohort_id}, {s.size} ready "
                f"{s.starts_at:%Y-%m-%d %H:%M} to {s.ends_at:%Y-%m-%d %H:%M} UTC"
            )


@pool.command("schedule")
@click.argument("cohort_id", type=int)
@click.argument("lab")
@click.argument("size", type=int)
@click.option(
    "--from",
    "starts_at",
    type=click.DateTime(TIME_FORMATS),
    required=True,
    help="Start, UTC: 'YYYY-MM-DD HH:MM'.",
)
@click.option(
    "--until",
    "ends_at",
    type=click.DateTime(TIME_FORMATS),
    required=True,
    help="End, UTC: 'YYYY-MM-DD HH:MM'.",
)
@with_appcontext
def schedule_command(cohort_id: int, lab: str, size: int, starts_at: datetime, ends_at: datetime):
    """Keep SIZE sessions of LAB ready for cohort COHORT_ID from --from until --until (UTC)."""
    from sqlalchemy import select

    from lms.extensions import db
    from lms.labs import pools

    cohorts = db.metadata.tables["cohorts"]  # centres' table (labs may not import centres)
    if db.session.scalar(select(cohorts.c.id).where(cohorts.c.id == cohort_id)) is None:
        raise click.ClickException(f"no cohort {cohort_id}")
    try:
        schedule = pools.add_schedule(cohort_id, lab, size, starts_at, ends_at)
    except pools.ScheduleInvalid as exc:
        raise click.ClickException(str(exc)) from None
    _audit("pool.schedule", cohort_id, {"lab": lab, "size": size, "from": starts_at, "to": ends_at})
    click.echo(
        f"schedule #{schedule.id}: {size} ready sessions of {lab} for cohort {cohort_id}, "
        f"{starts_at:%Y-%m-%d %H:%M} to {ends_at:%Y-%m-%d %H:%M} UTC"
    )
    pools.wait_refills()


@pool.command("cancel")
@click.argument("schedule_id", type=int)
@with_appcontext
def cancel_command(schedule_id: int):
    """Remove schedule SCHEDULE_ID; its extra ready sessions are stopped."""
    from lms.extensions import db
    from lms.labs import pools
    from lms.labs.pool_models import PoolSchedule

    schedule = db.session.get(PoolSchedule, schedule_id)
    if schedule is None:
        raise click.ClickException(f"no schedule {schedule_id}")
    cohort_id, what = schedule.cohort_id, {"lab": schedule.lab_slug, "size": schedule.size}
    pools.cancel_schedule(schedule)
    _audit("pool.cancel", cohort_id, what)
    pools.wait_refills()
    click.echo(f"schedule #{schedule_id} removed")


def _audit(action: str, cohort_id: int, details: dict) -> None:
    """In the audit log as the pages record it: about the cohort's centre."""
    from sqlalchemy import select

    from lms.audit.services import record
    from lms.extensions import db

    cohorts = db.metadata.tables["cohorts"]  # centres' table (labs may not import centres)
    centre_id = db.session.scalar(select(cohorts.c.centre_id).where(cohorts.c.id == cohort_id))
    name = db.session.scalar(select(cohorts.c.name).where(cohorts.c.id == cohort_id))
    record(action, f"cohort {name}", details, centre_id)


@pool.command("fill")
@click.argument("lab", required=False)
@with_appcontext
def fill_command(lab: str | None):
    """Top every pool (or LAB's) up to its target and drain what is above it, now."""
    from lms.labs import pools

    report = pools.maintain(lab)
    pools.wait_refills(300)
    for slug, count in sorted(report.filling.items()):
        click.echo(f"{slug}: {count} session(s) started")
    for key in report.drained:
        click.echo(f"drained {key}")
    for slug, error in sorted(report.backing_off.items()):
        click.echo(f"{slug}: not filling (backing off): {error}", err=True)
    failing = [p for p in pools.overview() if p.error and (lab is None or p.lab_slug == lab)]
    for p in failing:
        click.echo(f"{p.lab_slug}: {p.error}", err=True)
    if failing:
        sys.exit(1)
