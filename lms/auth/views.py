"""Sign-in, sign-out, registration, invitations, settings and the user admin page."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import (
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from lms.audit.services import record
from lms.auth import forms, invitations, services, throttle, two_factor, user_admin
from lms.auth.access import role_required
from lms.auth.account_forms import UserSearchForm
from lms.auth.account_views import second_factor_step
from lms.auth.blueprint import bp
from lms.auth.models import ApiToken, Role, normalise_email
from lms.extensions import db, limiter
from lms.mail import mail_enabled


def _safe_next(target: str | None) -> str:
    """Only follow a relative ``next`` on this site (no open redirects); one with control
    characters (CR/LF would split the Location header) or back-slashes is dropped."""
    if target and not any(ch == "\\" or unicodedata.category(ch) == "Cc" for ch in target):
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("progress.home")


safe_next = _safe_next  # lms.sso follows ``next`` the same way after its sign-in


def _too_many_attempts(form, wait: throttle.Wait):
    flash(wait.message, "danger")
    response = make_response(render_template("auth/login.html", form=form), 429)
    response.headers["Retry-After"] = str(wait.seconds)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = forms.LoginForm()
    if form.validate_on_submit():
        account, address = normalise_email(form.email.data), request.remote_addr or "unknown"
        wait = throttle.check(account, address)
        if wait:
            return _too_many_attempts(form, wait)
        user = services.authenticate(form.email.data, form.password.data)
        if user:
            throttle.record_success(account)
            if two_factor.is_enabled(user):
                return second_factor_step(
                    user, form.remember.data, _safe_next(request.args.get("next"))
                )
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        throttle.record_failure(account, address)
        flash(_("That email and password do not match an active account."), "danger")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """POST signs out (ending this user's sessions everywhere: a copied cookie dies too);
    GET, e.g. a bookmark or a reload, shows a page with the button instead of a 405."""
    if request.method == "GET":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    if current_user.is_authenticated and request.authorization is None:
        services.end_sessions(current_user)
    logout_user()
    flash(_("You are signed out, on this and every other device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    if not services.self_registration_open(current_app.config["LMS_SELF_REGISTRATION"]):
        flash(_("Self-registration is closed. Ask your centre for an invitation."), "info")
        return redirect(url_for("auth.login"))
    form = forms.RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(form.email.data, form.password.data, name=form.name.data)
            db.session.commit()
        except services.AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            login_user(user)
            flash(_("Welcome! Your account is ready."), "success")
            return redirect(url_for("progress.home"))
    return render_template("auth/register.html", form=form)


@bp.route("/invite/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    invitation = services.find_invitation(token)
    if invitation is None or not invitation.is_usable:
        return render_template("auth/invitation_invalid.html"), 404
    form = forms.AcceptInvitationForm()
    if request.method == "GET" and invitation.name:
        form.name.data = invitation.name  # as the inviter typed it; the invitee may change it
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(invitation, form.name.data, form.password.data)
        except services.AccountError as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        else:
            login_user(user)
            flash(_("Welcome! Your account is ready."), "success")
            return redirect(url_for("progress.home"))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)


def _has_remember_cookie() -> bool:
    return current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    profile = forms.ProfileForm(prefix="profile", obj=current_user)
    password = forms.ChangePasswordForm(prefix="password")
    token_form = forms.TokenForm(prefix="token")
    new_token = None
    if profile.submit.data and profile.validate_on_submit():
        current_user.name = profile.name.data.strip()
        db.session.commit()
        flash(_("Your profile is saved."), "success")
        return redirect(url_for("auth.settings"))
    if password.submit.data and password.validate_on_submit():
        if current_user.check_password(password.current.data):
            user = current_user._get_current_object()
            revoked = services.change_password(
                user, password.password.data, revoke_tokens=password.revoke_tokens.data
            )
            # Every other session has ended; this one carries on with the new version.
            login_user(user, remember=_has_remember_cookie())
            flash(
                "Your password is changed and your other sessions are signed out"
                + (f"; {revoked} API token(s) revoked." if revoked else "."),
                "success",
            )
            return redirect(url_for("auth.settings"))
        password.current.errors.append("That is not your current password.")
    if token_form.submit.data and token_form.validate_on_submit():
        new_token = services.issue_token(current_user, token_form.label.data or "")
        record("api-token.create", current_user, {"label": token_form.label.data or ""})
    tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at)
    ).all()
    return render_template(
        "auth/settings.html",
        profile=profile,
        password=password,
        token_form=token_form,
        tokens=tokens,
        new_token=new_token,
    )


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        return render_template(
            "errors/error.html",
            status=404,
            title="Token not found",
            message="That token does not exist.",
        ), 404
    db.session.delete(token)
    db.session.commit()
    record("api-token.revoke", current_user, {"label": token.label or "", "token": token_id})
    flash(_("The token is revoked."), "success")
    return redirect(url_for("auth.settings"))


@bp.route("/admin/users", methods=["GET", "POST"])
@role_required(Role.PLATFORM_ADMIN)
def admin_users():
    create = forms.CreateUserForm(prefix="create")
    invite = forms.InviteForm(prefix="invite")
    registration = forms.RegistrationSettingForm(
        prefix="reg",
        data={"open": services.self_registration_open(current_app.config["LMS_SELF_REGISTRATION"])},
    )
    if create.submit.data and create.validate_on_submit():
        try:
            user = services.create_user(
                create.email.data,
                create.password.data,
                role=create.role.data,
                name=create.name.data,
            )
            db.session.flush()
            record("user.create", user, {"role": user.role}, commit=False)
            db.session.commit()
            flash(_("Account created for %(user_email)s.", user_email=user.email), "success")
            return redirect(url_for("auth.admin_users"))
        except services.AccountError as exc:
            db.session.rollback()
            create.email.errors.append(str(exc))
    if invite.submit.data and invite.validate_on_submit():
        try:
            token = services.invite(
                invite.email.data,
                invite.role.data,
                created_by=current_user,
                name=invite.name.data or "",
            )
        except services.AccountError as exc:
            invite.email.errors.append(str(exc))
        else:
            invitation = services.find_invitation(token)
            record(
                "invitation.create", f"invitation for {invitation.email}", {"role": invitation.role}
            )
            return _invitation_made(invitation)
    if registration.submit.data and registration.validate_on_submit():
        services.set_self_registration(registration.open.data)
        record("platform.self_registration", "self-registration", {"open": registration.open.data})
        flash(
            "Self-registration is now " + ("open." if registration.open.data else "closed."),
            "success",
        )
        return redirect(url_for("auth.admin_users"))
    search = UserSearchForm(request.args)
    users, total_users = user_admin.search(
        search.q.data or "", search.role.data or "", search.status.data or ""
    )
    pending = user_admin.open_invitations()
    invited_id = request.args.get("invited", type=int)
    return render_template(
        "auth/admin_users.html",
        invited=next((i for i in pending if i.id == invited_id), None),
        invitation_link=invitations.invitation_link,
        invitation_days=invitations.invitation_days(),
        mail_on=mail_enabled(),
        users=users,
        total_users=total_users,
        search=search,
        create=create,
        invite=invite,
        registration=registration,
        pending=pending,
    )


def _invitation_made(invitation):
    """Say so (and whether it was e-mailed), then show the Users page with the link to
    copy: a redirect, so reloading invites nobody again and the form is empty."""
    made = _("Invitation made for %(email)s.", email=invitation.email)
    if mail_enabled():
        problem = invitations.mail_invitation(invitation)
        if problem is None:
            flash(_("%(made)s The link was e-mailed.", made=made), "success")
        else:
            flash(
                _(
                    "%(made)s It could not be e-mailed (%(problem)s): copy the link.",
                    made=made,
                    problem=problem,
                ),
                "warning",
            )
    else:
        flash(made, "success")
    return redirect(url_for("auth.admin_users", invited=invitation.id, _anchor="invite-h"))


@bp.post("/language")
def choose_language():
    """The footer's language menu: a signed-in person's choice is kept on their account,
    a visitor's in their session. CSRF-protected like every form (CSRFProtect)."""
    from lms.web.i18n import SESSION_KEY, SUPPORTED_LOCALES

    locale = request.form.get("locale", "")
    if locale not in SUPPORTED_LOCALES:
        flash(_("That language is not offered."), "error")
    elif current_user.is_authenticated:
        current_user.locale = locale
        db.session.commit()
    else:
        session[SESSION_KEY] = locale
    return redirect(_safe_next(request.form.get("next")))
