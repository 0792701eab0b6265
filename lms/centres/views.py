"""Centre and cohort pages: details, partners, shared courses, members, invitations."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from lms.auth.access import role_required
from lms.auth.models import Role
from lms.catalog.models import Course
from lms.centres import bp, forms, roster, services
from lms.centres.access import (
    can_manage_cohort,
    centre_or_abort,
    cohort_or_abort,
    managed_centre_ids,
)
from lms.centres.csv_files import CsvFileError, csv_response
from lms.centres.models import Centre, Cohort
from lms.centres.reports import cohort_summaries
from lms.extensions import db
from lms.web import form_page

STAFF = (Role.INSTRUCTOR, Role.CENTRE_ADMIN)
ADMINS = (Role.CENTRE_ADMIN,)


def _action_or_400() -> None:
    if not forms.ActionForm().validate_on_submit():
        abort(400, description="Your form expired. Reload the page and try again.")


# -- centres -------------------------------------------------------------------


@bp.get("/centres")
@role_required(*STAFF)
def index():
    centres = services.centres_for(current_user)
    cohorts = services.cohorts_visible_to(current_user)
    summaries = cohort_summaries([c.id for c in cohorts])
    return render_template(
        "centres/index.html",
        centres=centres,
        cohorts=cohorts,
        summaries=summaries,
        can_create=current_user.is_platform_admin,
    )


@bp.route("/centres/new", methods=["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def new_centre():
    form = forms.NewCentreForm()
    if form.validate_on_submit():
        try:
            centre = services.create_centre(form.name.data, form.country.data)
        except services.CentreError as exc:
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"The centre {centre.name} is created.", "success")
            return redirect(url_for("centres.centre", slug=centre.slug))
    return render_template("centres/new_centre.html", form=form)


def _centre_form(centre: Centre) -> forms.CentreForm:
    form = forms.CentreForm(obj=centre)
    form.partners.choices = [
        (c.id, f"{c.name} ({c.country})" if c.country else c.name)
        for c in db.session.scalars(
            select(Centre).where(Centre.id != centre.id).order_by(Centre.name)
        )
    ]
    if request.method == "GET":
        form.partners.data = [p.id for p in centre.partners]
    return form


@bp.route("/centres/<slug>", methods=["GET", "POST"])
@role_required(*ADMINS)
def centre(slug: str):
    centre = centre_or_abort(slug, current_user)
    form = _centre_form(centre)
    if form.validate_on_submit():
        try:
            services.update_centre(centre, form.name.data, form.country.data, form.partners.data)
        except services.CentreError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash("The centre is saved.", "success")
            return redirect(url_for("centres.centre", slug=centre.slug))
    offer_form = forms.OfferCourseForm(prefix="offer")
    offer_form.course.choices = [(c.id, c.title) for c in services.unoffered_courses()]
    summaries = cohort_summaries([c.id for c in centre.cohorts])
    return render_template(
        "centres/centre.html",
        centre=centre,
        form=form,
        summaries=summaries,
        offered=sorted(centre.offered_courses, key=lambda o: o.course.title),
        assignable=services.assignable_courses(centre),
        partnering=services.centres_partnering_with(centre),
        offer_form=offer_form,
        admin_form=forms.EmailForm(prefix="admin"),
        action=forms.ActionForm(),
    )


@bp.post("/centres/<slug>/admins")
@form_page("centres.centre")
@role_required(Role.PLATFORM_ADMIN)
def add_centre_admin(slug: str):
    centre = centre_or_abort(slug, current_user)
    form = forms.EmailForm(prefix="admin")
    if not form.validate_on_submit():
        flash("Give the email address of a centre admin account.", "danger")
    else:
        try:
            user = services.add_centre_admin(centre, form.email.data)
        except services.CentreError as exc:
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(f"{user.display_name} now runs {centre.name}.", "success")
    return redirect(url_for("centres.centre", slug=slug))


@bp.post("/centres/<slug>/admins/<int:user_id>/remove")
@role_required(Role.PLATFORM_ADMIN)
def remove_centre_admin(slug: str, user_id: int):
    centre = centre_or_abort(slug, current_user)
    _action_or_400()
    services.remove_centre_admin(centre, user_id)
    db.session.commit()
    flash("The admin no longer runs this centre.", "success")
    return redirect(url_for("centres.centre", slug=slug))


@bp.post("/centres/<slug>/courses")
@form_page("centres.centre")
@role_required(Role.PLATFORM_ADMIN)
def offer_course(slug: str):
    centre = centre_or_abort(slug, current_user)
    form = forms.OfferCourseForm(prefix="offer")
    form.course.choices = [(c.id, c.title) for c in services.unoffered_courses()]
    if not form.validate_on_submit():
        flash("Choose a course that no centre offers yet.", "danger")
    else:
        try:
            services.offer_course(centre, form.course.data, shared=form.shared.data)
        except services.CentreError as exc:
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash("The centre now offers that course.", "success")
    return redirect(url_for("centres.centre", slug=slug))


@bp.post("/centres/<slug>/courses/<int:course_id>/withdraw")
@role_required(Role.PLATFORM_ADMIN)
def withdraw_course(slug: str, course_id: int):
    centre = centre_or_abort(slug, current_user)
    _action_or_400()
    services.withdraw_course(centre, course_id)
    db.session.commit()
    flash("The course is open to every centre again.", "success")
    return redirect(url_for("centres.centre", slug=slug))


@bp.post("/centres/<slug>/courses/<int:course_id>/share")
@role_required(*ADMINS)
def share_course(slug: str, course_id: int):
    centre = centre_or_abort(slug, current_user)
    _action_or_400()
    shared = request.form.get("value") == "on"
    try:
        offer = services.set_course_shared(centre, course_id, shared)
    except services.CentreError as exc:
        abort(404, description=str(exc))
    db.session.commit()
    flash(
        f"“{offer.course.title}” is "
        + ("shared with your partner centres." if shared else "no longer shared."),
        "success",
    )
    return redirect(url_for("centres.centre", slug=slug))


@bp.get("/centres/<slug>/cohorts.csv")
@role_required(*ADMINS)
def centre_cohorts_csv(slug: str):
    centre = centre_or_abort(slug, current_user)
    summaries = cohort_summaries([c.id for c in centre.cohorts])
    return csv_response(
        f"{centre.slug}-cohorts.csv",
        [
            "cohort",
            "starts on",
            "ends on",
            "trainees",
            "instructors",
            "completion %",
            "average quiz %",
            "active last 7 days",
        ],
        [
            (
                c.name,
                c.starts_on.isoformat() if c.starts_on else "",
                c.ends_on.isoformat() if c.ends_on else "",
                summaries[c.id].trainees,
                "; ".join(i.display_name for i in c.instructors),
                summaries[c.id].completion,
                ""
                if summaries[c.id].average_score is None
                else round(100 * summaries[c.id].average_score),
                summaries[c.id].active,
            )
            for c in centre.cohorts
        ],
    )


@bp.route("/centres/<slug>/cohorts/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_cohort(slug: str):
    centre = centre_or_abort(slug, current_user)
    form = forms.CohortForm()
    if form.validate_on_submit():
        try:
            cohort = services.create_cohort(
                centre, form.name.data, form.starts_on.data, form.ends_on.data
            )
        except services.CentreError as exc:
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(
                f"The cohort {cohort.name} is created. Add trainees and assign courses.", "success"
            )
            return redirect(url_for("centres.cohort", cohort_id=cohort.id))
    return render_template("centres/cohort_form.html", form=form, centre=centre, cohort=None)


# -- cohorts --------------------------------------------------------------------------


def _move_targets(cohort: Cohort) -> list[Cohort]:
    ids = managed_centre_ids(current_user)
    query = (
        select(Cohort).join(Centre).where(Cohort.id != cohort.id).order_by(Centre.name, Cohort.name)
    )
    if ids is not None:
        query = query.where(Cohort.centre_id.in_(ids))
    return list(db.session.scalars(query))


def _assign_choices(cohort: Cohort) -> list[tuple[int, str]]:
    """Courses the centre may assign, plus those the cohort follows (to change a due date)."""
    courses = {c.id: c.title for c in services.assignable_courses(cohort.centre)}
    courses.update({a.course_id: a.course.title for a in cohort.courses})
    return sorted(courses.items(), key=lambda item: item[1])


def _render_cohort(cohort: Cohort, add_form=None, upload_form=None, status=200, **extra):
    manage = can_manage_cohort(current_user, cohort)
    assign_form = forms.AssignCourseForm(prefix="assign")
    assign_form.course.choices = _assign_choices(cohort)
    move_form = forms.MoveTraineeForm(prefix="move")
    move_form.target.choices = [(c.id, c.label) for c in _move_targets(cohort)] if manage else []
    return render_template(
        "centres/cohort.html",
        cohort=cohort,
        manage=manage,
        members=services.members(cohort),
        pending=services.pending_invitations(cohort) if manage else [],
        add_form=add_form or forms.AddTraineeForm(prefix="add"),
        upload_form=upload_form or forms.RosterUploadForm(prefix="roster"),
        assign_form=assign_form,
        move_form=move_form,
        instructor_form=forms.EmailForm(prefix="instructor"),
        action=forms.ActionForm(),
        **extra,
    ), status


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
    )


@bp.route("/cohorts/<int:cohort_id>/edit", methods=["GET", "POST"])
@role_required(*ADMINS)
def edit_cohort(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.CohortForm(obj=cohort)
    if form.validate_on_submit():
        try:
            services.update_cohort(cohort, form.name.data, form.starts_on.data, form.ends_on.data)
        except services.CentreError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash("The cohort is saved.", "success")
            return redirect(url_for("centres.cohort", cohort_id=cohort.id))
    return render_template(
        "centres/cohort_form.html", form=form, centre=cohort.centre, cohort=cohort
    )


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
    return _render_cohort(cohort, added=row)


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
        "centres/roster_report.html", cohort=cohort, report=report, links_csv=_links_csv(report)
    ), (200 if report.applied else 400)


def _links_csv(report: roster.RosterReport) -> str:
    from lms.centres.csv_files import write_csv

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


@bp.post("/cohorts/<int:cohort_id>/trainees/<int:user_id>/move")
@role_required(*ADMINS)
def move_trainee(cohort_id: int, user_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.MoveTraineeForm(prefix="move")
    form.target.choices = [(c.id, c.label) for c in _move_targets(cohort)]
    if not form.validate_on_submit():
        abort(400, description="Choose one of your cohorts to move the trainee to.")
    target = cohort_or_abort(form.target.data, current_user, manage=True)
    trainee = _member_or_404(cohort, user_id)
    try:
        services.move_trainee(trainee, cohort, target)
    except services.CentreError as exc:
        abort(400, description=str(exc))
    db.session.commit()
    flash(
        f"{trainee.display_name} moved to {target.name}; their progress moved with them.", "success"
    )
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


def _member_or_404(cohort: Cohort, user_id: int):
    from lms.auth.models import User

    if user_id not in services.member_ids(cohort):
        abort(404, description="That person is not in this cohort.")
    return db.session.get(User, user_id)


@bp.post("/cohorts/<int:cohort_id>/trainees/<int:user_id>/remove")
@role_required(*ADMINS)
def remove_trainee(cohort_id: int, user_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    _action_or_400()
    trainee = _member_or_404(cohort, user_id)
    services.remove_member(cohort, user_id)
    db.session.commit()
    flash(f"{trainee.display_name} left {cohort.name}. Their progress is kept.", "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/instructors")
@form_page("centres.cohort")
@role_required(*ADMINS)
def add_instructor(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    form = forms.EmailForm(prefix="instructor")
    if not form.validate_on_submit():
        flash("Give the instructor's email address.", "danger")
        return redirect(url_for("centres.cohort", cohort_id=cohort.id))
    try:
        link = services.add_instructor(cohort, form.email.data, current_user)
    except services.CentreError as exc:
        flash(str(exc), "danger")
        return redirect(url_for("centres.cohort", cohort_id=cohort.id))
    db.session.commit()
    if link:
        return _render_cohort(cohort, instructor_link=link)
    flash("The instructor now teaches this cohort.", "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/instructors/<int:user_id>/remove")
@role_required(*ADMINS)
def remove_instructor(cohort_id: int, user_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    _action_or_400()
    services.remove_instructor(cohort, user_id)
    db.session.commit()
    flash("The instructor no longer teaches this cohort.", "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


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
    services.assign_course(cohort, form.course.data, form.due_on.data)
    db.session.commit()
    course = db.session.get(Course, form.course.data)
    flash(f"{cohort.name} follows “{course.title}”.", "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/courses/<int:course_id>/remove")
@role_required(*ADMINS)
def unassign_course(cohort_id: int, course_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    _action_or_400()
    services.unassign_course(cohort, course_id)
    db.session.commit()
    flash("The course is no longer assigned. Trainees keep their progress in it.", "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/invitations/<int:invitation_id>/renew")
@role_required(*ADMINS)
def renew_invitation(cohort_id: int, invitation_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    _action_or_400()
    try:
        link = services.renew_invitation(cohort, invitation_id, current_user)
    except services.CentreError as exc:
        abort(404, description=str(exc))
    db.session.commit()
    return _render_cohort(cohort, renewed_link=link)


@bp.post("/cohorts/<int:cohort_id>/invitations/<int:invitation_id>/cancel")
@role_required(*ADMINS)
def cancel_invitation(cohort_id: int, invitation_id: int):
    cohort = cohort_or_abort(cohort_id, current_user, manage=True)
    _action_or_400()
    services.cancel_invitation(cohort, invitation_id)
    db.session.commit()
    flash("The invitation is cancelled: its link no longer works.", "success")
    return redirect(url_for("centres.cohort", cohort_id=cohort.id))
