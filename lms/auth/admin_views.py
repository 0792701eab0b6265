"""A platform admin's page for one account (edit, role, deactivate, reset link, two-factor)
and the actions on open invitations listed on the Users page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.audit.services import record
from lms.auth import password_reset, two_factor, user_admin
from lms.auth.access import role_required
from lms.auth.account_forms import EditAccountForm
from lms.auth.blueprint import bp
from lms.auth.invitations import mail_invitation
from lms.auth.models import Invitation, Role, User
from lms.auth.services import AccountError
from lms.extensions import db
from lms.mail import mail_enabled
from lms.web import form_page


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, description="There is no such account.")
    return user


def _render(user: User, form: EditAccountForm, reset_link: str | None = None, status=200):
    return render_template(
        "auth/admin_user.html",
        user=user,
        form=form,
        reset_link=reset_link,
        two_factor_on=two_factor.is_enabled(user),
        mail_enabled=mail_enabled(),
        reset_minutes=password_reset.lifetime().total_seconds() // 60,
    ), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def admin_user(user_id: int):
    user = _user_or_404(user_id)
    form = EditAccountForm(obj=user)
    if form.validate_on_submit():
        try:
            changes = user_admin.update_account(
                user, form.name.data, form.email.data, form.role.data
            )
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
            return _render(user, form, status=422)
        flash(
            f"{user.email}: " + (", ".join(changes) + " saved." if changes else "nothing changed."),
            "success",
        )
        return redirect(url_for("auth.admin_user", user_id=user.id))
    return _render(user, form)


@bp.post("/admin/users/<int:user_id>/deactivate")
@role_required(Role.PLATFORM_ADMIN)
@form_page("auth.admin_user")
def deactivate_user(user_id: int):
    user = _user_or_404(user_id)
    try:
        revoked = user_admin.deactivate(user, by=current_user)
    except AccountError as exc:
        flash(str(exc), "danger")
    else:
        flash(
            f"{user.email} is deactivated: signed out everywhere, cannot sign in"
            + (f", {revoked} API token(s) revoked." if revoked else "."),
            "success",
        )
    return redirect(url_for("auth.admin_user", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/reactivate")
@role_required(Role.PLATFORM_ADMIN)
@form_page("auth.admin_user")
def reactivate_user(user_id: int):
    user = _user_or_404(user_id)
    user_admin.reactivate(user)
    flash(_("%(user_email)s can sign in again.", user_email=user.email), "success")
    return redirect(url_for("auth.admin_user", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/reset-link")
@role_required(Role.PLATFORM_ADMIN)
@form_page("auth.admin_user")
def user_reset_link(user_id: int):
    """A one-time link to hand to the person (shown on this answer only)."""
    user = _user_or_404(user_id)
    if not user.is_active:
        flash(_("Reactivate the account first."), "danger")
        return redirect(url_for("auth.admin_user", user_id=user.id))
    token = password_reset.issue_link(user, created_by=current_user)
    record("user.reset_link", user)
    link = url_for("auth.reset_password", token=token, _external=True)
    return _render(user, EditAccountForm(obj=user), reset_link=link)


@bp.post("/admin/users/<int:user_id>/two-factor/disable")
@role_required(Role.PLATFORM_ADMIN)
@form_page("auth.admin_user")
def disable_user_two_factor(user_id: int):
    user = _user_or_404(user_id)
    two_factor.disable(user)
    record("user.two_factor_off", user)
    flash(
        _(
            "Two-factor sign-in is off for %(user_email)s; they can switch it on again.",
            user_email=user.email,
        ),
        "info",
    )
    return redirect(url_for("auth.admin_user", user_id=user.id))


def _invitation_or_404(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or not invitation.is_usable:
        abort(404, description="That invitation was used, cancelled or has expired.")
    return invitation


@bp.post("/admin/invitations/<int:invitation_id>/cancel")
@role_required(Role.PLATFORM_ADMIN)
@form_page("auth.admin_users")
def cancel_invitation(invitation_id: int):
    invitation = _invitation_or_404(invitation_id)
    email = invitation.email
    user_admin.cancel_invitation(invitation)
    flash(
        _("The invitation for %(email)s is cancelled: its link no longer works.", email=email),
        "success",
    )
    return redirect(url_for("auth.admin_users"))


@bp.post("/admin/invitations/<int:invitation_id>/link")
@role_required(Role.PLATFORM_ADMIN)
@form_page("auth.admin_users")
def renew_invitation(invitation_id: int):
    invitation = _invitation_or_404(invitation_id)
    link = user_admin.renew_invitation_link(invitation)
    return render_template(
        "auth/invitation_link.html",
        invitation=invitation,
        link=link,
        mail_problem=mail_invitation(invitation, link) if mail_enabled() else "",
    )
