"""Lab pages: the panel's form actions (without JavaScript), the admin page, flag shares."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from lms.audit.services import record
from lms.auth.access import role_required
from lms.auth.models import Role
from lms.auth.visibility import visible_trainee_ids
from lms.catalog.models import Module
from lms.content import lab_library
from lms.extensions import db
from lms.labs import flags, grading, overview, services
from lms.labs.blueprint import bp
from lms.labs.errors import LabActionError, refuse_team_lab
from lms.labs.forms import FlagForm, LabActionForm, TaskForm
from lms.labs.models import LabSession

STAFF = (Role.INSTRUCTOR, Role.CENTRE_ADMIN, Role.PLATFORM_ADMIN)


def _back(form: LabActionForm, session: LabSession | None = None):
    """Back to the page the form was on (a local path only), else the lab's module."""
    target = form.next.data or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return redirect(target + "#lab-panel")
    module = db.session.get(Module, session.module_id) if session and session.module_id else None
    if module is not None:
        return redirect(
            url_for("catalog.module", slug=module.course.slug, module_slug=module.slug)
            + "#lab-panel"
        )
    return redirect(url_for("progress.home"))


def _own_session(session_id: int) -> LabSession:
    session = services.get_session_for(current_user, session_id)
    if session is None:
        abort(404, description="You have no such lab session.")
    return session


def _valid(form: LabActionForm) -> None:
    if not form.validate_on_submit():
        errors = [e for field in form.errors.values() for e in field]
        abort(400, description=errors[0] if errors else "That form was incomplete.")


@bp.post("/<slug>/start")
@login_required
def start(slug: str):
    form = LabActionForm()
    _valid(form)
    try:
        result = services.start_lab(current_user, slug, form.module.data)
    except LabActionError as exc:
        flash(exc.message, "warning")
        return _back(form)
    flash(
        "Your lab is starting: this page shows when it is ready."
        if result.created
        else "Your lab is already running.",
        "info",
    )
    return _back(form, result.session)


def _session_action(session_id: int, action, done: str):
    form = LabActionForm()
    _valid(form)
    session = _own_session(session_id)
    try:
        result = action(session)
    except LabActionError as exc:
        flash(exc.message, "warning")
        return _back(form, session)
    flash(done, "success")
    return _back(form, getattr(result, "session", session))


@bp.post("/sessions/<int:session_id>/stop")
@login_required
def stop(session_id: int):
    def stop_own(session):
        refuse_team_lab(lab_library.get_spec(session.lab_slug))  # the white cell ends a team's lab
        return services.stop_lab(session)

    return _session_action(session_id, stop_own, "Your lab was stopped.")


@bp.post("/sessions/<int:session_id>/extend")
@login_required
def extend(session_id: int):
    return _session_action(session_id, services.extend_lab, "Your lab was extended.")


@bp.post("/sessions/<int:session_id>/restart")
@login_required
def restart(session_id: int):
    return _session_action(
        session_id, lambda s: services.restart_lab(current_user, s), "Your lab is starting afresh."
    )


@bp.post("/sessions/<int:session_id>/flag")
@login_required
def submit_flag(session_id: int):
    form = FlagForm()

    def submit(session, spec):
        outcome = flags.submit_flag(session, spec, form.task.data, form.flag.data)
        return outcome.message, "success" if outcome.correct else "danger"

    return _task_action(session_id, form, submit)


@bp.post("/sessions/<int:session_id>/check")
@login_required
def check_task(session_id: int):
    form = TaskForm()

    def check(session, spec):
        outcome = grading.run_check(session, spec, form.task.data)
        verdict = "Passed: task done." if outcome.passed else "Not yet: the check failed."
        return f"{verdict} {outcome.output}".strip(), "success" if outcome.passed else "danger"

    return _task_action(session_id, form, check)


def _task_action(session_id: int, form, act):
    """A task form posted on the user's own session: act(session, spec) gives what to flash."""
    _valid(form)
    session = _own_session(session_id)
    try:
        spec = services.require_spec(session.lab_slug)
        message, category = act(session, spec)
    except LabActionError as exc:
        message, category = exc.message, "warning"
    flash(message, category)
    return _back(form, session)


@bp.post("/<slug>/hint")
@login_required
def reveal_hint(slug: str):
    form = TaskForm()
    _valid(form)
    try:
        spec = services.require_spec(slug)
        live = services.live_session(current_user.id, slug)
        # the button names the cost: pressing it accepts it
        accepted = request.form.get("accept_penalty") == "yes"
        grading.reveal_hint(current_user, spec, form.task.data, live.id if live else None, accepted)
    except LabActionError as exc:
        flash(exc.message, "warning")
    return _back(form)


# -- staff pages ------------------------------------------------------------------------------


@bp.get("/admin")
@role_required(*STAFF)
def admin_sessions():
    if not current_user.is_platform_admin:
        # Instructors and centre admins follow flag shares; capacity is the platform's.
        return redirect(url_for("labs.flag_shares"))
    return render_template(
        "labs/admin.html",
        overview=overview.platform_labs(),
        limits=overview.limits(),
        spec_of=lab_library.get_spec,
    )


@bp.post("/admin/sessions/<int:session_id>/stop")
@role_required(Role.PLATFORM_ADMIN)
def admin_stop(session_id: int):
    form = LabActionForm()
    _valid(form)
    session = db.session.get(LabSession, session_id)
    if session is None:
        abort(404, description="There is no such lab session.")
    if session.is_live:
        services.stop_lab(session, reason="admin")
        record(
            "lab.stop", f"lab session {session.id}", {"lab": session.lab_slug}, lab_session=session
        )
        flash(
            _(
                "Lab session %(id)s of %(display_name)s was stopped.",
                id=session.id,
                display_name=session.user.display_name,
            ),
            "success",
        )
    else:
        flash(_("Lab session %(id)s had already ended.", id=session.id), "info")
    return redirect(url_for("labs.admin_sessions"))


@bp.get("/flag-shares")
@role_required(*STAFF)
def flag_shares():
    shares = flags.shares_involving(
        visible_trainee_ids(current_user), lab_slug=request.args.get("lab"), limit=200
    )
    return render_template("labs/flag_shares.html", shares=shares)
