"""Team exercises: teams of trainees (possibly of partner centres) work one incident
together in a shared lab (lab.yaml ``mode: team``), watched and steered by a white cell.

- ``models``: exercises, teams, members, completions, injects delivered, the timeline;
- ``access``: who may run, see or take part in an exercise (scoped by centres);
- ``teams``: creating an exercise, forming teams (by hand, CSV, mixed across centres);
- ``lifecycle``: start, pause, resume, extend and end; each team's lab session;
- ``play``: team grading (checks, flags, hints), injects, the notes pad;
- ``timeline`` and ``reports``: the white cell's timeline, scoreboard, after-action report;
- ``setup_views``, ``team_views``, ``whitecell_views``: the pages.
"""

from __future__ import annotations

from flask import Flask

from lms.exercises import (  # noqa: F401  (routes attach to bp)
    models,  # noqa: F401  (tables for create_all and migrations)
    setup_views,
    team_views,
    whitecell_views,
)
from lms.exercises.blueprint import bp  # noqa: F401  (registered by lms.create_app)


def init_app(app: Flask) -> None:
    from lms.exercises import lifecycle, play

    lifecycle.init_app(app)
    play.init_app(app)
