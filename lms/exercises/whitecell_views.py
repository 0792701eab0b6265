"""The white cell's pages: the exercise's control room (status, clock, controls, every
team's members, terminals and tasks, the injects, the live timeline and the scoreboard),
firing an inject by hand, the scoreboard, and the after-action report (page and CSV).

Only the white cell (``access.can_control``) sees the control room; a member is sent to
their team's page; anybody else gets 404. A member may read their own team's report once
the exercise has ended, and the scoreboard when its setting allows.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError

from lms.audit.services import record
from lms.auth.models import utcnow
from lms.centres.csv_files import csv_response
from lms.exercises import access, play, reports, scoring
from lms.exercises.blueprint import bp
from lms.exercises.models import ACTIVE_STATUSES, ENDED, Exercise
from lms.exercises.timeline import DEFAULT_LIMIT, Cursor, format_clock, timeline
from lms.extensions import db
from lms.labs.errors import LabActionError
from lms.web import wants_json

POLL_SECONDS = 3


def _url(endpoint: str, **values) -> str | None:
    """A link to another part's page, or None while that part is not there."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _clock(exercise: Exercise) -> dict:
    elapsed = int(exercise.elapsed().total_seconds())
    left = None
    if exercise.ends_at is not None and exercise.status in ACTIVE_STATUSES:
        until = exercise.paused_at or utcnow()
        left = max(0, int((exercise.ends_at - until).total_seconds()))
    return {
        "status": exercise.status,
        "elapsed": elapsed,
        "clock": format_clock(elapsed),
        "left": left,
        "left_clock": _time_left(left) if left is not None else "",
    }


def _time_left(seconds: int) -> str:
    """Time left as h:mm:ss from an hour up ("112:38" read as hours), else mm:ss."""
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else format_clock(seconds)


def _fire_due(exercise: Exercise) -> None:
    """Pages that poll fire the injects whose minute came (cheap; the sweep does it too)."""
    try:
        play.fire_due_injects(exercise)
    except LabActionError:  # an inject that cannot fire now is retried by the sweep
        db.session.rollback()


@bp.get("/<int:exercise_id>")
@login_required
def whitecell(exercise_id: int):
    exercise = access.exercise_or_404(exercise_id)
    if not access.can_control(current_user, exercise):
        team_page = _url("exercises.team", exercise_id=exercise.id)
        if team_page is None:
            abort(404, description="There is no exercise at this address.")
        return redirect(team_page)
    _fire_due(exercise)
    found = timeline(exercise, current_user, limit=DEFAULT_LIMIT)
    return render_template(
        "exercises/whitecell.html",
        exercise=exercise,
        clock=_clock(exercise),
        teams=reports.team_views(exercise, current_user, count_terminals=True),
        injects=reports.inject_views(exercise),
        timeline=found,
        scores=scoring.team_scores(exercise),
        poll_seconds=POLL_SECONDS,
        urls={
            name: _url(f"exercises.{name}", exercise_id=exercise.id)
            for name in ("start", "pause", "resume", "extend", "end", "teams", "index")
        },
    )


@bp.get("/<int:exercise_id>/timeline.json")
@login_required
def timeline_json(exercise_id: int):
    """The timeline rows after ``after`` (a cursor this answered before), as data and as the
    page's table rows; the clock and the scoreboard come along."""
    exercise = access.exercise_or_404(exercise_id)
    if not access.can_control(current_user, exercise):
        abort(404, description="There is no exercise at this address.")
    _fire_due(exercise)
    team_id = request.args.get("team_id", type=int)
    found = timeline(
        exercise, current_user, after=Cursor.parse(request.args.get("after")), team_id=team_id
    )
    scores = scoring.team_scores(exercise)
    return jsonify(
        {
            "cursor": str(found.cursor),
            "rows": [row.to_json() for row in found.rows],
            "html": render_template("exercises/_timeline_rows.html", rows=found.rows),
            "clock": _clock(exercise),
            "scoreboard_html": render_template(
                "exercises/_scoreboard.html", scores=scores, exercise=exercise
            ),
        }
    )


@bp.post("/<int:exercise_id>/injects/<inject_id>/fire")
@login_required
def fire_inject(exercise_id: int, inject_id: str):
    """Fire an inject now, for every team or one (``team_id``): each team gets it once."""
    exercise = access.control_or_abort(exercise_id)
    back = redirect(url_for("exercises.whitecell", exercise_id=exercise.id) + "#injects")
    chosen = request.form.get("team_id", "").strip()  # "": every team
    team_id = int(chosen) if chosen.isdigit() else None
    teams = {team.id: team for team in exercise.teams}
    if chosen and team_id not in teams:  # never "all teams" by mistake
        return _refuse(back, _("That team is not in this exercise."), 400)
    if exercise.status not in ACTIVE_STATUSES:
        return _refuse(back, _("Injects can be fired only while the exercise runs."), 409)
    try:
        delivered = play.fire_inject(
            exercise,
            inject_id,
            team_ids=None if team_id is None else [team_id],
            by=current_user._get_current_object(),
        )
    except LabActionError as exc:
        db.session.rollback()
        return _refuse(back, str(exc), 404)
    names = sorted(teams[d.team_id].name for d in delivered)
    record(
        "exercise.inject",
        exercise,
        {"inject": inject_id, "team": teams[team_id].name if team_id else "all", "to": names},
    )
    if names:
        message = _("Inject fired for %(teams)s.", teams=", ".join(names))
    else:
        message = _("Every team chosen had this inject already: nothing was sent again.")
    if wants_json():
        return jsonify({"message": message, "teams": names})
    flash(message, "success" if names else "info")
    return back


def _refuse(back, message: str, status: int):
    if wants_json():
        return jsonify({"message": message}), status
    flash(message, "danger")
    return back


@bp.get("/<int:exercise_id>/scoreboard")
@login_required
def scoreboard(exercise_id: int):
    """The scoreboard: JSON for scripts, the table alone with ``?fragment=1``, else a page."""
    exercise = access.exercise_or_404(exercise_id)
    if not scoring.scoreboard_visible(exercise, current_user):
        abort(404, description="There is no scoreboard to show.")
    scores = scoring.team_scores(exercise)
    if wants_json() or request.args.get("format") == "json":
        return jsonify(
            {
                "status": exercise.status,
                "teams": [
                    {
                        "rank": rank,
                        "team": s.team.name,
                        "team_id": s.team.id,
                        "points": s.points,
                        "tasks_done": s.tasks_done,
                        "tasks_total": s.tasks_total,
                        "penalties": s.penalties,
                        "last_at": s.last_at.isoformat() if s.last_at else None,
                    }
                    for rank, s in enumerate(scores, start=1)
                ],
            }
        )
    if request.args.get("fragment"):
        return render_template("exercises/_scoreboard.html", scores=scores, exercise=exercise)
    # opened in a browser: a page of the site, leading back to where this person works
    back = "exercises.whitecell" if access.can_control(current_user, exercise) else "exercises.team"
    return render_template(
        "exercises/scoreboard.html",
        scores=scores,
        exercise=exercise,
        back_url=url_for(back, exercise_id=exercise.id),
    )


# -- the after-action report ---------------------------------------------------------------


def _report_teams(exercise: Exercise) -> set[int] | None:
    """Which teams' report the signed-in user may read: the white cell every team (or the
    one asked for); a member their own team, once the exercise has ended."""
    if access.can_control(current_user, exercise):
        wanted = request.args.get("team", type=int)
        if wanted is not None and wanted not in {t.id for t in exercise.teams}:
            abort(404, description="There is no such team in this exercise.")
        return None if wanted is None else {wanted}
    member = access.membership(current_user, exercise)
    if member is None:
        abort(404, description="There is no exercise at this address.")
    if exercise.status != ENDED:
        abort(403, description="Your team's report is ready once the exercise has ended.")
    return {member.team_id}


@bp.get("/<int:exercise_id>/report")
@login_required
def report(exercise_id: int):
    exercise = access.exercise_or_404(exercise_id)
    team_ids = _report_teams(exercise)
    return render_template(
        "exercises/report.html",
        report=reports.exercise_report(exercise, current_user, team_ids),
        exercise=exercise,
        clock=_clock(exercise),
        is_white_cell=access.can_control(current_user, exercise),
        chosen_team=request.args.get("team", type=int),
    )


@bp.get("/<int:exercise_id>/report.csv")
@login_required
def report_csv(exercise_id: int):
    exercise = access.exercise_or_404(exercise_id)
    team_ids = _report_teams(exercise)
    found = reports.exercise_report(exercise, current_user, team_ids)
    stamp = found.generated_at.strftime("%Y%m%d")
    return csv_response(
        f"exercise-{exercise.id}-report-{stamp}.csv",
        reports.CSV_HEADER,
        reports.csv_rows(found),
        about=exercise,
    )
