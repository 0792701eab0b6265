"""`lms centres ...`: demo programme and generated cohorts."""

from __future__ import annotations

import time

import click
from flask.cli import with_appcontext


@click.group("centres", help="Centres, cohorts and their data.")
def centres_cli():
    pass


@centres_cli.command("demo")
@with_appcontext
def demo_command():
    """Create (or complete) the demo joint programme; `lms demo` does this too."""
    from lms.centres.demo import create_demo_programme

    summary = create_demo_programme()
    click.echo(summary)


@centres_cli.command("generate-demo-cohort")
@click.option("--trainees", default=1000, show_default=True, help="Trainees in the cohort.")
@click.option("--modules", default=30, show_default=True, help="Modules of the generated course.")
@click.option(
    "--seed", default=1, show_default=True, help="Random seed (a new seed, a new cohort)."
)
@click.option("--centre", "centre_slug", default="benchmark-centre", show_default=True)
@with_appcontext
def generate_command(trainees, modules, seed, centre_slug):
    """Generate a cohort with realistic progress (for benchmarks and load tests)."""
    from lms.centres.generator import generate_cohort
    from lms.centres.services import CentreError

    started = time.perf_counter()
    try:
        made = generate_cohort(trainees, modules, seed=seed, centre_slug=centre_slug)
    except CentreError as exc:
        raise click.ClickException(f"{exc} Use another --seed.") from None
    rows = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in made.rows.items())
    click.echo(
        f"cohort {made.cohort_id}: {made.trainees} trainees × {made.modules} modules ({rows}) "
        f"in {time.perf_counter() - started:.1f} s; dashboard at /cohorts/{made.cohort_id}/dashboard"
    )
