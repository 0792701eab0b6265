"""Centre pages: the list of centres and cohorts, a centre's details, partners,
admins and the courses it offers and shares. Changes go through
``lms.centres.actions`` (one committed transaction each)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth.access import role_required
from lms.auth.models import Role
from lms.centres import actions, forms, services
from lms.centres.access import ADMINS, STAFF, centre_or_abort
from lms.centres.blueprint import bp
from lms.centres.csv_files import csv_response
from lms.centres.models import Centre
from lms.centres.reports import cohort_summaries
from lms.web import form_page


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
            centre = actions.create_centre(form.name.data, form.country.data)
        except services.CentreError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("The centre %(centre_name)s is created.", centre_name=centre.name), "success")
            return redirect(url_for("centres.centre", slug=centre.slug))
    return render_template("centres/new_centre.html", form=form)


def _centre_form(centre: Centre) -> forms.CentreForm:
    form = forms.CentreForm(obj=centre)
    form.partners.choices = [
        (c.id, f"{c.name} ({c.country})" if c.country else c.name)
        for c in services.other_centres(centre)
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
            actions.update_centre(centre, form.name.data, form.country.data, form.partners.data)
        except services.CentreError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(_("The centre is saved."), "success")
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
        flash(_("Give the email address of a centre admin account."), "danger")
    else:
        try:
            user = actions.add_centre_admin(centre, form.email.data)
        except services.CentreError as exc:
            flash(str(exc), "danger")
        else:
            flash(
                _(
                    "%(display_name)s now runs %(centre_name)s.",
                    display_name=user.display_name,
                    centre_name=centre.name,
                ),
                "success",
            )
    return redirect(url_for("centres.centre", slug=slug))


def _button(slug: str, change, *args, done: str):
    """An action button of the centre page: check it, make the change, say so."""
    centre = centre_or_abort(slug, current_user)
    forms.action_or_400()
    change(centre, *args)
    flash(done, "success")
    return redirect(url_for("centres.centre", slug=slug))


@bp.post("/centres/<slug>/admins/<int:user_id>/remove")
@role_required(Role.PLATFORM_ADMIN)
def remove_centre_admin(slug: str, user_id: int):
    return _button(
        slug, actions.remove_centre_admin, user_id, done="The admin no longer runs this centre."
    )


@bp.post("/centres/<slug>/courses")
@form_page("centres.centre")
@role_required(Role.PLATFORM_ADMIN)
def offer_course(slug: str):
    centre = centre_or_abort(slug, current_user)
    form = forms.OfferCourseForm(prefix="offer")
    form.course.choices = [(c.id, c.title) for c in services.unoffered_courses()]
    if not form.validate_on_submit():
        flash(_("Choose a course that no centre offers yet."), "danger")
    else:
        try:
            actions.offer_course(centre, form.course.data, shared=form.shared.data)
        except services.CentreError as exc:
            flash(str(exc), "danger")
        else:
            flash(_("The centre now offers that course."), "success")
    return redirect(url_for("centres.centre", slug=slug))


@bp.post("/centres/<slug>/courses/<int:course_id>/withdraw")
@role_required(Role.PLATFORM_ADMIN)
def withdraw_course(slug: str, course_id: int):
    return _button(
        slug, actions.withdraw_course, course_id, done="The course is open to every centre again."
    )


@bp.post("/centres/<slug>/courses/<int:course_id>/share")
@role_required(*ADMINS)
def share_course(slug: str, course_id: int):
    centre = centre_or_abort(slug, current_user)
    forms.action_or_400()
    shared = request.form.get("value") == "on"
    try:
        offer = actions.set_course_shared(centre, course_id, shared)
    except services.CentreError as exc:
        abort(404, description=str(exc))
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
        about=centre,
    )


@bp.route("/centres/<slug>/cohorts/new", methods=["GET", "POST"])
@role_required(*ADMINS)
def new_cohort(slug: str):
    centre = centre_or_abort(slug, current_user)
    form = forms.CohortForm()
    if form.validate_on_submit():
        try:
            cohort = actions.create_cohort(
                centre, form.name.data, form.starts_on.data, form.ends_on.data
            )
        except services.CentreError as exc:
            form.name.errors.append(str(exc))
        else:
            flash(
                f"The cohort {cohort.name} is created. Add trainees and assign courses.", "success"
            )
            return redirect(url_for("centres.cohort", cohort_id=cohort.id))
    return render_template("centres/cohort_form.html", form=form, centre=centre, cohort=None)
