"""Course editor pages: list, edit with live preview, add a module, publish."""

from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for

from lms.auth.access import role_required
from lms.auth.models import Role
from lms.authoring import forms, models, services  # noqa: F401  (models: the history table)
from lms.authoring.blueprint import bp
from lms.web import accepts_json

AUTHORS = (Role.INSTRUCTOR, Role.PLATFORM_ADMIN)


def _folder_or_404(slug: str) -> services.CourseFolder:
    try:
        return services.course_folder(slug)
    except services.AuthoringError as exc:
        abort(404, description=str(exc))


@bp.get("/")
@role_required(*AUTHORS)
def index():
    return render_template("authoring/index.html", folders=services.course_folders())


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
                flash(f"{filename} created. It is live once you publish the course.", "success")
                return redirect(url_for("authoring.edit", slug=slug, filename=filename))
            new_module.filename.errors.extend(str(i) for i in issues)
    return render_template(
        "authoring/course.html",
        folder=folder,
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
        try:
            issues = services.save_file(folder, filename, text)
        except services.AuthoringError as exc:
            form.text.errors.append(str(exc))
            not_saved = True
        else:
            if not issues:
                flash(f"{filename} saved. Publish the course to make the change live.", "success")
                return redirect(url_for("authoring.edit", slug=slug, filename=filename))
            flash(
                "Not saved: fix the problems listed below. The file on disk is unchanged.", "danger"
            )
    elif request.method == "GET":
        form.text.data = services.read_file(folder, filename)
    return render_template(
        "authoring/edit.html",
        folder=folder,
        filename=filename,
        form=form,
        issues=issues,
        is_module=filename.endswith(".md"),
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
    return jsonify({"html": html, "issues": [str(i) for i in issues]})


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
        flash("Nothing to publish: the live course is already this version.", "info")
    else:
        flash("The course is published: trainees see the new version now.", "success")
    return redirect(url_for("authoring.course", slug=slug))
