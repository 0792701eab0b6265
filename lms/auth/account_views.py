"""Password resets by e-mail, and two-factor sign-in (the second step of signing in and
the settings page that switches it on)."""

from __future__ import annotations

import time

from flask import abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user

from lms.auth import password_reset, throttle, two_factor
from lms.auth.account_forms import (
    ConfirmTwoFactorForm,
    ForgotPasswordForm,
    PasswordCheckForm,
    ResetPasswordForm,
    SecondFactorForm,
)
from lms.auth.blueprint import bp
from lms.auth.models import User
from lms.auth.services import AccountError
from lms.extensions import db, limiter
from lms.mail import mail_enabled

PENDING_KEY = "two_factor_pending"
PENDING_SECONDS = 600  # the second step must follow the password within this


# --- password reset -------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    if not mail_enabled():
        # No mail: the page says whom to ask; a platform admin makes a link to hand over.
        return render_template("auth/forgot_password.html", form=None)
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        password_reset.mail_link(
            form.email.data,
            lambda token: url_for("auth.reset_password", token=token, _external=True),
        )
        flash(
            "If an active account has that address, a link to choose a new password is on "
            "its way. It works once, for a limited time.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    reset = password_reset.find(token)
    if reset is None:
        return render_template("auth/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            password_reset.complete(reset, form.password.data)
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            flash(_("Your new password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


# --- two-factor sign-in ---------------------------------------------------------------


def second_factor_step(user: User, remember: bool, next_url: str):
    """After a right password, for an account with two-factor sign-in: not signed in
    yet; the session remembers who typed it for the code page."""
    session[PENDING_KEY] = {
        "user": user.get_id(),
        "remember": bool(remember),
        "next": next_url,
        "at": int(time.time()),
    }
    return redirect(url_for("auth.login_second_factor"))


def _pending_user() -> tuple[User | None, dict]:
    """Who typed the right password, if it was recently and their sessions were not
    ended since (a password change, a deactivation)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        return None, {}
    user_id, _, version = str(pending.get("user", "")).partition(":")
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.is_active or str(user.session_version or 0) != version:
        return None, {}
    return user, pending


def _throttle_key(user: User) -> str:
    return f"two-factor:{user.id}"


@bp.route("/login/two-factor", methods=["GET", "POST"])
def login_second_factor():
    user, pending = _pending_user()
    if user is None or not two_factor.is_enabled(user):
        session.pop(PENDING_KEY, None)
        flash(_("Sign in with your email and password first."), "info")
        return redirect(url_for("auth.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        wait = throttle.check(_throttle_key(user), address)
        if wait:
            flash(wait.message, "danger")
            response = make_response(render_template("auth/second_factor.html", form=form), 429)
            response.headers["Retry-After"] = str(wait.seconds)
            return response
        used = two_factor.verify(user, form.code.data)
        if used:
            throttle.record_success(_throttle_key(user))
            session.pop(PENDING_KEY, None)
            login_user(user, remember=pending.get("remember", False))
            if used == "recovery":
                flash(
                    "You signed in with a recovery code; it cannot be used again "
                    f"({two_factor.recovery_codes_left(user)} left). Make new ones in your "
                    "settings if you are running low.",
                    "warning",
                )
            return redirect(pending.get("next") or url_for("progress.home"))
        throttle.record_failure(_throttle_key(user), address)
        form.code.errors.append("That code is not right (or was already used).")
    return render_template("auth/second_factor.html", form=form)


@bp.route("/settings/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_settings():
    user = current_user._get_current_object()
    if not two_factor.available_to(user):
        abort(404, description="Two-factor sign-in is for staff accounts.")
    confirm = ConfirmTwoFactorForm(prefix="confirm")
    check = PasswordCheckForm(prefix="check")
    action = request.form.get("action", "")
    new_codes = None
    if request.method == "POST" and action == "start" and check.validate_on_submit():
        if user.check_password(check.password.data):
            two_factor.start(user)
            return redirect(url_for("auth.two_factor_settings"))
        check.password.errors.append("That is not your password.")
    elif request.method == "POST" and action == "confirm" and confirm.validate_on_submit():
        address = request.remote_addr or "unknown"
        wait = throttle.check(_throttle_key(user), address)
        if wait:
            confirm.code.errors.append(wait.message)
        else:
            new_codes = two_factor.confirm(user, confirm.code.data)
            if new_codes is None:
                throttle.record_failure(_throttle_key(user), address)
                confirm.code.errors.append(
                    "That code is not right. Check the time on your phone and try the next one."
                )
            else:
                throttle.record_success(_throttle_key(user))
    elif request.method == "POST" and action in {"disable", "codes"} and check.validate_on_submit():
        if not user.check_password(check.password.data):
            check.password.errors.append("That is not your password.")
        elif action == "disable":
            two_factor.disable(user)
            flash(_("Two-factor sign-in is off."), "info")
            return redirect(url_for("auth.two_factor_settings"))
        else:
            new_codes = two_factor.regenerate_recovery_codes(user)
    return render_template(
        "auth/two_factor.html",
        enabled=two_factor.is_enabled(user),
        enrolling=bool(user.totp_secret) and not two_factor.is_enabled(user),
        qr_code=two_factor.qr_code_data_uri(user) if user.totp_secret else None,
        secret=user.totp_secret,
        codes_left=two_factor.recovery_codes_left(user),
        new_codes=new_codes,
        confirm=confirm,
        check=check,
    )
