"""The exercise set-up pages: the list, a new exercise, forming teams, and the white
cell's buttons (start, pause, resume, extend, end). Changes go through ``teams`` and
``lifecycle`` (one committed transaction each)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.auth.access import role_required
from lms.auth.models import User
from lms.centres.access import STAFF
from lms.centres.forms import action_or_400
from lms.exercises import forms, lifecycle, teams
from lms.exercises.access import (
    can_control,
    can_see_person,
    control_or_abort,
    exercise_or_404,
    membership,
    visible_exercises,
)
from lms.exercises.blueprint import bp
from lms.exercises.models import DRAFT, ENDED, Exercise, Team, TeamMember
from lms.extensions import db
from lms.labs.errors import ServiceUnavailable
from lms.web import form_page


def whitecell_url(exercise: Exercise) -> str:
    """The white cell's page; the teams page while that page is not on the platform."""
    if "exercises.whitecell" in current_app.view_functions:
        return url_for("exercises.whitecell", exercise_id=exercise.id)
    return url_for("exercises.teams", exercise_id=exercise.id)


# -- the list and a new exercise ----------------------------------------------------------------


@bp.get("")
@login_required
def index():
    exercises = visible_exercises(current_user)
    return render_template(
        "exercises/index.html",
        exercises=exercises,
        staff=current_user.is_staff,
        may_create=bool(current_user.is_staff and teams.eligible_cohorts(current_user)),
        team_names=_my_teams(exercises) if not current_user.is_staff else {},
        whitecell_url=whitecell_url,
    )


def _my_teams(exercises: list[Exercise]) -> dict[int, str]:
    names = {}
    for exercise in exercises:
        member = membership(current_user, exercise)
        if member is not None:
            names[exercise.id] = member.team.name
    return names


@bp.route("/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new():
    form = forms.NewExerciseForm()
    labs = teams.team_labs()
    form.lab.choices = [(spec.slug, f"{spec.title} ({spec.ttl_minutes} min)") for spec in labs]
    cohorts = teams.eligible_cohorts(current_user)
    form.cohorts.choices = [(cohort.id, cohort.label) for cohort in cohorts]
    if form.validate_on_submit():
        try:
            exercise = teams.create_exercise(
                current_user,
                form.title.data,
                form.lab.data,
                form.cohorts.data or [],
                form.duration_minutes.data,
                form.scoreboard.data,
            )
        except teams.TeamError as exc:
            form.cohorts.errors = [*form.cohorts.errors, exc.message]
        else:
            flash(_("The exercise is created: now form its teams."), "success")
            return redirect(url_for("exercises.teams", exercise_id=exercise.id))
    status = 400 if form.errors else 200
    return render_template(
        "exercises/new.html", form=form, labs=labs, has_cohorts=bool(cohorts)
    ), status


# -- forming teams ------------------------------------------------------------------------------------


@bp.route("/<int:exercise_id>/teams", methods=["GET", "POST"], endpoint="teams")
@login_required
def teams_page(exercise_id: int):
    exercise = exercise_or_404(exercise_id)
    if not can_control(current_user, exercise):
        return redirect(url_for("exercises.team", exercise_id=exercise.id))
    csv_form = forms.CsvTeamsForm(prefix="csv")
    mix_form = forms.MixTeamsForm(prefix="mix")
    add_form = forms.AddTeamForm(prefix="team")
    put_form = _put_form(exercise)
    problems, status = [], 200
    if request.method == "POST":
        action_or_400()
        try:
            outcome = _apply(
                request.form.get("action", ""), exercise, csv_form, mix_form, add_form, put_form
            )
        except teams.TeamError as exc:
            flash(exc.message, "danger")
            status = 400
        else:
            if isinstance(outcome, list):  # the CSV's problems: shown with the form
                problems, status = outcome, 400
            elif outcome is not None:
                flash(outcome, "success")
                return redirect(url_for("exercises.teams", exercise_id=exercise.id))
            else:
                status = 400
    return _render_teams(exercise, csv_form, mix_form, add_form, put_form, problems), status


def _put_form(exercise: Exercise) -> forms.PutMemberForm:
    form = forms.PutMemberForm(prefix="put")
    form.user.choices = [
        (p.user.id, f"{p.user.display_name} · {p.centre_name}")
        for p in teams.participants(exercise)
    ]
    form.team.choices = [(team.id, team.name) for team in exercise.teams]
    form.role.choices = list(teams.role_titles(exercise).items())
    return form


def _apply(action: str, exercise: Exercise, csv_form, mix_form, add_form, put_form):
    """Carry out one form of the page: a message to flash, the CSV's problems, or None
    when the form itself was invalid (its errors are shown)."""
    if action == "add-team":
        if not add_form.validate():
            return None
        team = teams.add_team(exercise, add_form.name.data, current_user)
        return _("Team “%(name)s” added.", name=team.name)
    if action == "rename-team":
        team = _team_or_400(exercise)
        teams.rename_team(team, request.form.get("name", ""), current_user)
        return _("The team is now called “%(name)s”.", name=team.name)
    if action == "remove-team":
        team = _team_or_400(exercise)
        name = team.name
        teams.remove_team(team, current_user)
        return _("Team “%(name)s” removed.", name=name)
    if action == "put-member":
        if not put_form.validate():
            return None
        trainee = db.session.get(User, put_form.user.data)
        team = db.session.get(Team, put_form.team.data)
        if trainee is None or team is None:
            abort(400)
        teams.put_member(exercise, team, trainee, put_form.role.data, current_user)
        return _("%(name)s is in team “%(team)s”.", name=trainee.display_name, team=team.name)
    if action == "move-member":
        member = _member_or_400(exercise)
        team = _team_or_400(exercise)
        teams.put_member(exercise, team, member.user, request.form.get("role", ""), current_user)
        return _("%(name)s is in team “%(team)s”.", name=member.user.display_name, team=team.name)
    if action == "remove-member":
        member = _member_or_400(exercise)
        name = member.user.display_name
        teams.remove_member(member, current_user)
        return _("%(name)s is no longer in a team.", name=name)
    if action == "csv":
        if not csv_form.validate():
            return None
        placed, problems = teams.import_csv(exercise, csv_form.file.data.read(), current_user)
        if problems:
            return problems
        return _("%(count)d trainees placed from the file.", count=placed)
    if action == "mix":
        if not mix_form.validate():
            return None
        made = teams.mix_teams(exercise, mix_form.team_size.data, current_user)
        return _("%(count)d teams formed, mixing the centres.", count=len(made))
    abort(400, description=_("Unknown action."))


def _team_or_400(exercise: Exercise) -> Team:
    team = db.session.get(Team, request.form.get("team_id", type=int) or 0)
    if team is None or team.exercise_id != exercise.id:
        abort(400, description=_("There is no such team in this exercise."))
    return team


def _member_or_400(exercise: Exercise) -> TeamMember:
    member = db.session.get(TeamMember, request.form.get("member_id", type=int) or 0)
    if member is None or member.exercise_id != exercise.id:
        abort(400, description=_("This trainee is not in a team of this exercise."))
    return member


def _render_teams(exercise, csv_form, mix_form, add_form, put_form, problems):
    people = teams.participants(exercise)
    centre_of = {p.user.id: p.centre_name for p in people}
    placed = {member.user_id for team in exercise.teams for member in team.members}
    visible = {
        member.user_id
        for team in exercise.teams
        for member in team.members
        if can_see_person(current_user, member.user)
    } | {p.user.id for p in people if can_see_person(current_user, p.user)}
    return render_template(
        "exercises/teams.html",
        exercise=exercise,
        roles=teams.role_titles(exercise),
        centre_of=centre_of,
        unplaced=[p for p in people if p.user.id not in placed],
        visible_emails=visible,
        csv_form=csv_form,
        mix_form=mix_form,
        add_form=add_form,
        put_form=put_form,
        extend_form=forms.ExtendForm(prefix="extend"),
        problems=problems,
        draft=exercise.status == DRAFT,
        missing_environments=exercise.is_active
        and any(
            team.members and not lifecycle.has_live_environment(team) for team in exercise.teams
        ),
        ended=exercise.status == ENDED,
        whitecell=whitecell_url(exercise),
    )


# -- the white cell's buttons ------------------------------------------------------------------------------


def _clock_action(exercise_id: int, act, done: str):
    exercise = control_or_abort(exercise_id)
    action_or_400()
    try:
        act(exercise)
    except lifecycle.ExerciseError as exc:
        flash(exc.message, "danger")
    else:
        flash(done, "success")
    return redirect(whitecell_url(exercise))


@bp.post("/<int:exercise_id>/start")
@form_page("exercises.teams")
@login_required
def start(exercise_id: int):
    exercise = control_or_abort(exercise_id)
    action_or_400()
    first_start = exercise.status == DRAFT
    try:
        if first_start:
            report = lifecycle.start_exercise(exercise, current_user)
        else:  # teams whose environment failed or that were formed since
            report = lifecycle.start_missing_environments(exercise, current_user)
    except lifecycle.ExerciseError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("exercises.teams", exercise_id=exercise.id))
    except ServiceUnavailable as exc:
        flash(exc.message, "danger")
        return redirect(url_for("exercises.teams", exercise_id=exercise.id))
    if first_start:
        message = _(
            "The exercise has started: %(count)d team environments are starting.",
            count=len(report.started),
        )
    elif report.started:
        message = _("%(count)d team environments are starting.", count=len(report.started))
    else:  # Start again (a double click, or a second tab) with nothing missing
        message = _("Every team with members has its environment already: nothing to start.")
    flash(message, "success" if report.started or first_start else "info")
    for name, why in report.failed.items():
        flash(_("Team “%(team)s” could not start: %(why)s", team=name, why=why), "danger")
    if report.skipped:
        flash(
            _("Teams without members were left out: %(teams)s", teams=", ".join(report.skipped)),
            "warning",
        )
    return redirect(whitecell_url(exercise))


@bp.post("/<int:exercise_id>/pause")
@form_page("exercises.teams")
@login_required
def pause(exercise_id: int):
    return _clock_action(
        exercise_id,
        lambda e: lifecycle.pause(e, current_user),
        _("The exercise is paused: the clock stands still."),
    )


@bp.post("/<int:exercise_id>/resume")
@form_page("exercises.teams")
@login_required
def resume(exercise_id: int):
    return _clock_action(
        exercise_id,
        lambda e: lifecycle.resume(e, current_user),
        _("The exercise runs again; its end moved by the pause."),
    )


@bp.post("/<int:exercise_id>/extend")
@form_page("exercises.teams")
@login_required
def extend(exercise_id: int):
    exercise = control_or_abort(exercise_id)
    form = forms.ExtendForm(prefix="extend")
    if not form.validate_on_submit():
        flash(_("Extend by 1 to %(n)d minutes.", n=lifecycle.MAX_EXTEND_MINUTES), "danger")
        return redirect(whitecell_url(exercise))
    minutes = form.minutes.data
    return _clock_action(
        exercise_id,
        lambda e: lifecycle.extend(e, minutes, current_user),
        _("The exercise has %(minutes)d more minutes.", minutes=minutes),
    )


@bp.post("/<int:exercise_id>/end")
@form_page("exercises.teams")
@login_required
def end(exercise_id: int):
    def finish(exercise):
        if not lifecycle.end_exercise(exercise, current_user):
            raise lifecycle.ExerciseError(_("This exercise has ended already."))

    return _clock_action(
        exercise_id, finish, _("The exercise has ended; the teams' labs are stopping.")
    )
