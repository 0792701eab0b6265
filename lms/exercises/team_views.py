"""The team page: a member's view of the exercise (clock, role, terminal, tasks, injects,
notes, scoreboard), its state.json (polled by team.js), and the team's actions.

Every action answers JSON to team.js (``Accept: application/json``) and, for a browser
without JavaScript, flashes its outcome and comes back to the page.
"""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms.auth.models import User
from lms.catalog.rendering import render_markdown
from lms.centres.models import Centre
from lms.exercises import access, play, scoring
from lms.exercises.blueprint import bp
from lms.exercises.models import ENDED, PAUSED, Exercise, Team, TeamMember, TeamTaskCompletion
from lms.extensions import db
from lms.labs.errors import LabActionError
from lms.web import wants_json


def _member_or_404(exercise_id: int) -> tuple[Exercise, TeamMember]:
    exercise = access.exercise_or_404(exercise_id)
    member = access.membership(current_user, exercise)
    if member is None:
        abort(404, description="There is no exercise at this address.")
    return exercise, member


@bp.get("/<int:exercise_id>/team")
@login_required
def team(exercise_id: int):
    exercise = access.exercise_or_404(exercise_id)
    member = access.membership(current_user, exercise)
    if member is None:  # the white cell (exercise_or_404 let only them and members in)
        return redirect(url_for("exercises.whitecell", exercise_id=exercise.id))
    play.fire_due_injects(exercise)
    return _page(exercise, member)


def _page(
    exercise: Exercise, member: TeamMember, notes_draft=None, notes_conflict=None, status=200
):
    """The team page; after a stale notes save without JavaScript, with both versions."""
    spec = play.spec_of(exercise)
    role = spec.role(member.role) if spec is not None else None
    return render_template(
        "exercises/team.html",
        exercise=exercise,
        team=member.team,
        member=member,
        spec=spec,
        role=role,
        role_description_html=render_markdown(role.description).html
        if role and role.description
        else "",
        # the lab's story (who is who, what happened): the role text alone leaves it out
        scenario_html=render_markdown(spec.description).html
        if spec is not None and spec.description
        else "",
        state=team_state_data(exercise, member),
        notes_max=play.NOTES_MAX_CHARS,
        notes_draft=notes_draft,
        notes_conflict=notes_conflict,
    ), status


@bp.get("/<int:exercise_id>/team/state.json")
@login_required
def team_state(exercise_id: int):
    exercise, member = _member_or_404(exercise_id)
    play.fire_due_injects(exercise)
    return jsonify(team_state_data(exercise, member))


def team_state_data(exercise: Exercise, member: TeamMember) -> dict:
    """Everything the page shows that changes while the exercise runs."""
    team = member.team
    db.session.refresh(team)
    session = team.lab_session
    return {
        "exercise": _clock(exercise),
        "environment": session.status if session is not None else None,
        "injects": play.delivered_injects(team),
        "tasks": play.team_tasks(team),
        "members": _members(team, member),
        "notes": play.notes_state(team),
        "scoreboard": _scoreboard(exercise, team),
    }


def _clock(exercise: Exercise) -> dict:
    elapsed = int(exercise.elapsed().total_seconds())
    total = exercise.duration_minutes * 60
    if exercise.started_at is not None and exercise.ends_at is not None:
        total = int((exercise.ends_at - exercise.started_at).total_seconds()) - (
            exercise.paused_seconds or 0
        )
    report_url = None
    if exercise.status == ENDED:
        report_url = url_for("exercises.report", exercise_id=exercise.id)
    return {
        "status": exercise.status,
        "elapsed_seconds": elapsed,
        # an exercise ended early has no time left, whatever its planned end
        "left_seconds": 0 if exercise.status == ENDED else max(0, total - elapsed),
        "paused": exercise.status == PAUSED,
        "ended": exercise.status == ENDED,
        "report_url": report_url,
    }


def _members(team: Team, me: TeamMember) -> list[dict]:
    spec = play.spec_of(team.exercise)
    done = dict(
        db.session.execute(
            select(TeamTaskCompletion.user_id, func.count(TeamTaskCompletion.id))
            .where(TeamTaskCompletion.team_id == team.id)
            .group_by(TeamTaskCompletion.user_id)
        ).all()
    )
    users = {m.user_id: m.user for m in team.members}
    centres = dict(
        db.session.execute(
            select(Centre.id, Centre.name).where(
                Centre.id.in_({u.centre_id for u in users.values() if u.centre_id})
            )
        ).all()
    )
    rows = []
    for m in team.members:
        role = spec.role(m.role) if spec is not None else None
        user: User = users[m.user_id]
        rows.append(
            {
                "name": user.display_name,
                "role": m.role,
                "role_title": role.title if role else m.role,
                "centre": centres.get(user.centre_id, ""),
                "tasks_done": int(done.get(m.user_id, 0)),
                "me": m.id == me.id,
            }
        )
    return rows


def _scoreboard(exercise: Exercise, team: Team) -> list[dict] | None:
    if not scoring.scoreboard_visible(exercise, current_user):
        return None
    return [
        {
            "rank": position,
            "team": score.team.name,
            "points": score.points,
            "tasks_done": score.tasks_done,
            "tasks_total": score.tasks_total,
            "mine": score.team.id == team.id,
        }
        for position, score in enumerate(scoring.team_scores(exercise), start=1)
    ]


# -- actions ----------------------------------------------------------------------------------


def _answer(exercise: Exercise, member: TeamMember, ok: bool, message: str, status=200, **extra):
    """JSON for team.js (with the fresh state); a flash and the page otherwise."""
    if wants_json():
        body = {"ok": ok, "message": message, **extra}
        body["state"] = team_state_data(exercise, member)
        return jsonify(body), status
    flash(message, "success" if ok else "warning")
    return redirect(url_for("exercises.team", exercise_id=exercise.id))


def _refused(exercise: Exercise, member: TeamMember, exc: LabActionError):
    return _answer(exercise, member, False, exc.message, exc.status, error=exc.error, **exc.extra)


@bp.post("/<int:exercise_id>/team/tasks/<task_id>/check")
@login_required
def team_check(exercise_id: int, task_id: str):
    exercise, member = _member_or_404(exercise_id)
    try:
        outcome = play.check_task(member.team, current_user, task_id)
    except LabActionError as exc:
        return _refused(exercise, member, exc)
    return _answer(exercise, member, outcome.passed, outcome.message, output=outcome.output)


@bp.post("/<int:exercise_id>/team/tasks/<task_id>/flag")
@login_required
def team_flag(exercise_id: int, task_id: str):
    exercise, member = _member_or_404(exercise_id)
    try:
        outcome = play.submit_flag(member.team, current_user, task_id, request.form.get("flag"))
    except LabActionError as exc:
        return _refused(exercise, member, exc)
    return _answer(exercise, member, outcome.passed, outcome.message)


@bp.post("/<int:exercise_id>/team/tasks/<task_id>/hint")
@login_required
def team_hint(exercise_id: int, task_id: str):
    exercise, member = _member_or_404(exercise_id)
    accepted = request.form.get("accept_penalty") == "yes"
    try:
        hint_html = play.reveal_hint(member.team, current_user, task_id, accepted)
    except LabActionError as exc:
        return _refused(exercise, member, exc)
    return _answer(exercise, member, True, _("Hint revealed."), hint_html=hint_html)


@bp.post("/<int:exercise_id>/team/notes")
@login_required
def team_notes(exercise_id: int):
    exercise, member = _member_or_404(exercise_id)
    try:
        base = int(request.form.get("version", ""))
    except ValueError:
        return _answer(exercise, member, False, _("That form was incomplete."), 400)
    text = request.form.get("notes", "")
    try:
        version = play.save_notes(member.team, current_user, text, base)
    except play.NotesConflict as exc:
        if wants_json():
            return _refused(exercise, member, exc)
        return _page(exercise, member, notes_draft=text, notes_conflict=exc.extra, status=409)
    except LabActionError as exc:
        if wants_json():
            return _refused(exercise, member, exc)
        flash(exc.message, "warning")  # the page again, with what they typed
        return _page(exercise, member, notes_draft=text, status=exc.status)
    return _answer(exercise, member, True, _("Notes saved."), version=version)
