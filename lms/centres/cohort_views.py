"""Cohort pages: details, members (one by one, by roster file, moved between
cohorts), instructors, assigned courses and open invitations. Changes go
through ``lms.centres.actions`` (one committed transaction each)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth.access import role_required
from lms.auth.invitations import invitation_days
from lms.auth.models import User
from lms.centres import actions, forms, invitations, roster, services
from lms.centres.access import ADMINS, STAFF, can_manage_cohort, cohort_or_abort
from lms.centres.blueprint import bp
from lms.centres.csv_files import CsvFileError, csv_response, write_csv
from lms.centres.models import Cohort
from lms.mail import mail_enabled
from lms.web import form_page


def _assign_choices(cohort: Cohort) -> list[tuple[int, str]]:
    """Courses the centre may assign, plus those the cohort follows (to change a due date)."""
    courses = {c.id: c.title for c in services.assignable_courses(cohort.centre)}
    courses.update({a.course_id: a.course.title for a in cohort.courses})
    return sorted(courses.items(), key=lambda item: item[1])


def _move_choices(cohort: Cohort) -> list[tuple[int, str]]:
    return [(c.id, c.label) for c in services.move_targets(cohort, current_user)]


def _render_cohort(cohort: Cohort, add_form=None, upload_form=None, status=200, **extra):
    manage = can_manage_cohort(current_user, cohort)
    pending = invitations.pending_invitations(cohort) if manage else []
    invited_id = request.args.get("invited", type=int)
    assign_form = forms.AssignCourseForm(prefix="assign")
    assign_form.course.choices = _assign_choices(cohort)
    move_form = forms.MoveTraineeForm(prefix="move")
    move_form.target.choices = _move_choices(cohort) if manage else []
    return render_template(
        "centres/cohort.html",
        cohort=cohort,
        manage=manage,
        members=services.members(cohort),
        pending=pending,
        # after "Add" (POST, then this page): the invitation just made, its link to copy
        invited=next((p for p in pending if p.invitation.id == invited_id), None),
        invitation_days=invitation_days(),
        mail_on=mail_enabled(),
        add_form=add_form or forms.AddTraineeForm(prefix="add"),
        upload_form=upload_form or forms.RosterUploadForm(prefix="roster"),
        assign_form=assign_form,
        move_form=move_form,
        instructor_form=forms.EmailForm(prefix="instructor"),
        action=forms.ActionForm(),
        **extra,
    ), status


def _back_to(cohort: Cohort):
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


def _show_invitation(cohort: Cohort, invitation_id: int, made: str, mail_problem: str | None):
    """After an invitation is made: say so (and whether it was e-mailed), then show the
    cohort page with its link to copy. A redirect, so reloading adds nobody again."""
    if mail_problem is None:
        flash(_("%(made)s The link was e-mailed.", made=made), "success")
    elif mail_enabled():
        flash(
            _(
                "%(made)s It could not be e-mailed (%(mail_problem)s): copy the link.",
                made=made,
                mail_problem=mail_problem,
            ),
            "warning",
        )
    else:
        flash(made, "success")
    return redirect(
        url_for("centres.cohort", cohort_id=cohort.id, invited=invitation_id, _anchor="add-result")
    )


def _button(cohort_id: int, change, *args, done: str):
    """An action button of the cohort page: check it, make the change, say so."""
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    forms.action_or_400()
    change(cohort, *args)
    flash(done, "success")
    return _back_to(cohort)


@bp.get("/cohorts/<int:cohort_id>")
@role_required(*STAFF)
def cohort(cohort_id: int):
    return _render_cohort(cohort_or_abort(cohort_id, current_user))


@bp.get("/cohorts/<int:cohort_id>/members.csv")
@role_required(*STAFF)
def members_csv(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user)
    return csv_response(
        f"{cohort.centre.slug}-{cohort.name}-members.csv",
        ["name", "email", "joined"],
        [
            (user.name, user.email, membership.joined_at.strftime("%Y-%m-%d"))
            for user, membership in services.members(cohort)
        ],
        about=cohort,
    )


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_cohort(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.CohortForm(obj=cohort)
    if form.validate_on_submit():
        try:
            actions.update_cohort(cohort, form.name.data, form.starts_on.data, form.ends_on.data)
        except services.CentreError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("The cohort is saved."), "success")
            return _back_to(cohort)
    return render_template(
        "centres/cohort_form.html", form=form, centre=cohort.centre, cohort=cohort
    )


# -- members --------------------------------------------------------------------------------


@bp.post("/cohorts/<int:cohort_id>/trainees")
@form_page("centres.cohort")
@role_required(*ADMINS)
def add_trainee(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.AddTraineeForm(prefix="add")
    if not form.validate_on_submit():
        return _render_cohort(cohort, add_form=form, status=400)
    row = roster.add_one_trainee(cohort, form.email.data, form.name.data, current_user)
    if row.status == roster.INVALID:
        form.email.errors.append(row.reason[:1].upper() + row.reason[1:] + ".")
        return _render_cohort(cohort, add_form=form, status=400)
    if row.status == roster.CREATED:
        return _show_invitation(
            cohort,
            row.invitation_id,
            _("Invitation made for %(email)s.", email=row.email),
            None if row.mailed else row.mail_problem,
        )
    if row.status == roster.ADDED:
        flash(
            _(
                "%(row_email)s joined %(cohort_name)s.",
                row_email=row.email,
                cohort_name=cohort.name,
            ),
            "success",
        )
    else:
        flash(_("%(row_email)s: %(reason)s.", row_email=row.email, reason=row.reason), "info")
    return _back_to(cohort)


@bp.post("/cohorts/<int:cohort_id>/roster")
@form_page("centres.cohort")
@role_required(*ADMINS)
def upload_roster(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.RosterUploadForm(prefix="roster")
    if not form.validate_on_submit():
        return _render_cohort(cohort, upload_form=form, status=400)
    try:
        report = roster.read_roster(form.file.data.read(), cohort, current_user)
    except CsvFileError as exc:
        form.file.errors.append(str(exc))
        return _render_cohort(cohort, upload_form=form, status=400)
    roster.apply_roster(report, current_user)
    return render_template(
        "centres/roster_report.html",
        cohort=cohort,
        report=report,
        links_csv=_links_csv(report),
        invitation_days=invitation_days(),
    ), (200 if report.applied else 400)


def _links_csv(report: roster.RosterReport) -> str:
    return write_csv(
        ["email", "name", "cohort", "invitation link"],
        [(r.email, r.name, r.cohort.name, r.link) for r in report.links],
    ).lstrip("\ufeff")


@bp.get("/cohorts/<int:cohort_id>/roster-template.csv")
@role_required(*ADMINS)
def roster_template(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    return csv_response(
        "trainees-template.csv",
        ["email", "name", "cohort"],
        [
            ("ana.silva@example.org", "Ana Silva", cohort.name),
            ("jose.nunez@example.org", "José Núñez, Jr.", ""),
        ],
    )


def _member_or_404(cohort: Cohort, user_id: int) -> User:
    trainee = services.member(cohort, user_id)
    if trainee is None:
        abort(404, description="That person is not in this cohort.")
    return trainee


@bp.post("/cohorts/<int:cohort_id>/trainees/<int:user_id>/move")
@role_required(*ADMINS)
def move_trainee(cohort_id: int, user_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.MoveTraineeForm(prefix="move")
    form.target.choices = _move_choices(cohort)
    if not form.validate_on_submit():
        abort(400, description="Choose one of your cohorts to move the trainee to.")
    target = cohort_or_abort(form.target.data, current_user, manage=True)
    trainee = _member_or_404(cohort, user_id)
    try:
        actions.move_trainee(trainee, cohort, target)
    except services.CentreError as exc:
        abort(400, description=str(exc))
    flash(
        f"{trainee.display_name} moved to {target.name}; their progress moved with them.", "success"
    )
    return _back_to(cohort)


@bp.post("/cohorts/<int:cohort_id>/trainees/<int:user_id>/remove")
@role_required(*ADMINS)
def remove_trainee(cohort_id: int, user_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    forms.action_or_400()
    trainee = _member_or_404(cohort, user_id)
    actions.remove_member(cohort, user_id)
    flash(
        _(
            "%(display_name)s left %(cohort_name)s. Their progress is kept.",
            display_name=trainee.display_name,
            cohort_name=cohort.name,
        ),
        "success",
    )
    return _back_to(cohort)


# -- instructors ----------------------------------------------------------------------------


@bp.post("/cohorts/<int:cohort_id>/instructors")
@form_page("centres.cohort")
@role_required(*ADMINS)
def add_instructor(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.EmailForm(prefix="instructor")
    if not form.validate_on_submit():
        flash(_("Give the instructor's email address."), "danger")
        return _back_to(cohort)
    try:
        new = actions.add_instructor(cohort, form.email.data, current_user)
    except services.CentreError as exc:
        flash(str(exc), "danger")
        return _back_to(cohort)
    if new:
        return _show_invitation(
            cohort,
            new.invitation.id,
            "The instructor has no account yet: an invitation was made.",
            invitations.mail_link(new) if mail_enabled() else "",
        )
    flash(_("The instructor now teaches this cohort."), "success")
    return _back_to(cohort)


@bp.post("/cohorts/<int:cohort_id>/instructors/<int:user_id>/remove")
@role_required(*ADMINS)
def remove_instructor(cohort_id: int, user_id: int):
    return _button(
        cohort_id,
        actions.remove_instructor,
        user_id,
        done="The instructor no longer teaches this cohort.",
    )


# -- courses --------------------------------------------------------------------------------


@bp.post("/cohorts/<int:cohort_id>/courses")
@form_page("centres.cohort")
@role_required(*ADMINS)
def assign_course(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.AssignCourseForm(prefix="assign")
    form.course.choices = _assign_choices(cohort)
    if not form.validate_on_submit():
        # A course id not in the choices is a course this centre may not assign.
        return _render_cohort(
            cohort,
            status=400,
            assign_error=(
                "That course is not available to this centre, or the due date is not a date."
            ),
        )
    assignment = actions.assign_course(cohort, form.course.data, form.due_on.data)
    flash(
        _(
            "%(cohort_name)s follows “%(course_title)s”.",
            cohort_name=cohort.name,
            course_title=assignment.course.title,
        ),
        "success",
    )
    return _back_to(cohort)


@bp.post("/cohorts/<int:cohort_id>/courses/<int:course_id>/remove")
@role_required(*ADMINS)
def unassign_course(cohort_id: int, course_id: int):
    return _button(
        cohort_id,
        actions.unassign_course,
        course_id,
        done="The course is no longer assigned. Trainees keep their progress in it.",
    )


# -- invitations ----------------------------------------------------------------------------


@bp.post("/cohorts/<int:cohort_id>/invitations/<int:invitation_id>/renew")
@role_required(*ADMINS)
def renew_invitation(cohort_id: int, invitation_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    forms.action_or_400()
    try:
        new = actions.renew_invitation(cohort, invitation_id, current_user)
    except services.CentreError as exc:
        abort(404, description=str(exc))
    return _show_invitation(
        cohort,
        new.invitation.id,
        "A new link was made: the old one no longer works.",
        invitations.mail_link(new) if mail_enabled() else "",
    )


@bp.post("/cohorts/<int:cohort_id>/invitations/<int:invitation_id>/cancel")
@role_required(*ADMINS)
def cancel_invitation(cohort_id: int, invitation_id: int):
    return _button(
        cohort_id,
        actions.cancel_invitation,
        invitation_id,
        done="The invitation is cancelled: its link no longer works.",
    )
