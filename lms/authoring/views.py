"""Course editor pages: list, edit with live preview, add a module, publish."""

from __future__ import annotations

from pathlib import Path

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.auth.access import role_required
from lms.authoring import forms, models, services  # noqa: F401  (models: the history table)
from lms.authoring.blueprint import bp
from lms.catalog.editing import AUTHORS, editable_course_slugs, may_edit
from lms.web import accepts_json


def _folder_or_404(slug: str) -> services.CourseFolder:
    """The course folder, if it exists (404) and this person may edit it (403)."""
    try:
        folder = services.course_folder(slug)
    except services.AuthoringError as exc:
        abort(404, description=str(exc))
    if not may_edit(current_user, folder.slug):
        abort(
            403,
            description="You edit the courses of your centres and those shared with them; "
            "this one is not among them.",
        )
    return folder


@bp.get("/")
@role_required(*AUTHORS)
def index():
    return render_template(
        "authoring/index.html",
        listings=services.course_listings(editable_course_slugs(current_user)),
        every_course=current_user.is_platform_admin,
    )


@bp.route("/<slug>/", methods=["GET", "POST"])
@role_required(*AUTHORS)
def course(slug: str):
    folder = _folder_or_404(slug)
    new_module = forms.NewModuleForm(prefix="new")
    if new_module.submit.data and new_module.validate_on_submit():
        filename = new_module.filename.data.strip()
        try:
            issues = services.create_module(folder, filename, new_module.title.data)
        except services.AuthoringError as exc:
            new_module.filename.errors.append(str(exc))
        else:
            if not issues:
                services.record_change(folder, current_user, "created", filename)
                flash(
                    _(
                        "%(filename)s created. It is live once you publish the course.",
                        filename=filename,
                    ),
                    "success",
                )
                return redirect(url_for("authoring.edit", slug=slug, filename=filename))
            new_module.filename.errors.extend(str(i) for i in issues)
    return render_template(
        "authoring/course.html",
        folder=folder,
        title=services.folder_title(folder),
        state=services.course_state(folder),
        changes=services.history(folder.slug),
        new_module=new_module,
        publish=forms.PublishForm(prefix="pub"),
    )


@bp.route("/<slug>/files/<filename>", methods=["GET", "POST"])
@role_required(*AUTHORS)
def edit(slug: str, filename: str):
    folder = _folder_or_404(slug)
    try:
        services.editable_path(folder, filename)
    except services.AuthoringError as exc:
        abort(404, description=str(exc))
    form = forms.EditFileForm()
    issues = []
    not_saved = False
    if form.validate_on_submit():
        text = form.text.data.replace("\r\n", "\n")
        before = services.read_file(folder, filename)
        try:
            issues = services.save_file(folder, filename, text)
        except services.AuthoringError as exc:
            form.text.errors.append(str(exc))
            not_saved = True
        else:
            if not issues:
                if text != before:
                    summary = services.lines_changed(before, text)
                    services.record_change(folder, current_user, "saved", filename, summary)
                flash(
                    _(
                        "%(filename)s saved. Publish the course to make the change live.",
                        filename=filename,
                    ),
                    "success",
                )
                return redirect(url_for("authoring.edit", slug=slug, filename=filename))
            flash(
                _("Not saved: fix the problems listed below. The file on disk is unchanged."),
                "danger",
            )
    elif request.method == "GET":
        form.text.data = services.read_file(folder, filename)
    return render_template(
        "authoring/edit.html",
        folder=folder,
        title=services.folder_title(folder),
        filename=filename,
        form=form,
        issues=issues,
        is_module=filename.endswith(".md"),
        # A refused save shows the author's text, not the file: leaving would lose it.
        unsaved=bool(issues or not_saved),
    ), (422 if issues or not_saved else 200)


@bp.post("/<slug>/files/<filename>/preview")
@role_required(*AUTHORS)
@accepts_json
def preview(slug: str, filename: str):
    folder = _folder_or_404(slug)
    text = (request.get_json(silent=True) or {}).get("text")
    if not isinstance(text, str):
        abort(400, description='Send the file content as JSON: {"text": "..."}.')
    try:
        issues = services.validate_change(
            folder, services.editable_path(folder, filename).name, text
        )
    except services.AuthoringError as exc:
        abort(400, description=str(exc))
    html = services.preview(slug, text) if filename.endswith(".md") else ""
    here = folder.path / filename
    # Problems in this file carry their line, for the editor's gutter.
    problems = [
        {"line": i.line, "message": i.message} for i in issues if i.line and Path(i.path) == here
    ]
    return jsonify({"html": html, "issues": [str(i) for i in issues], "problems": problems})


@bp.post("/<slug>/publish")
@role_required(*AUTHORS)
def publish(slug: str):
    folder = _folder_or_404(slug)
    form = forms.PublishForm(prefix="pub")
    if not form.validate_on_submit():
        abort(400, description="The form expired. Reload the page and try again.")
    report = services.publish(folder)
    if report.issues:
        flash("Not published: " + "; ".join(str(i) for i in report.issues[:5]), "danger")
    elif report.unchanged:
        flash(_("Nothing to publish: the live course is already this version."), "info")
    else:
        services.record_change(folder, current_user, "published")
        flash(_("The course is published: trainees see the new version now."), "success")
    return redirect(url_for("authoring.course", slug=slug))
