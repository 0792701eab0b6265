"""Forms of password resets, two-factor sign-in and the account admin pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional

from lms.auth.forms import ROLE_CHOICES, NewPasswordMixin


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField(_l("Set the new password"))


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off"},
    )
    submit = SubmitField(_l("Continue"))


class ConfirmTwoFactorForm(FlaskForm):
    code = StringField(
        _l("The 6-digit code the app shows"),
        validators=[DataRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField(_l("Switch on two-factor sign-in"))


class PasswordCheckForm(FlaskForm):
    """A change to how one signs in asks for the password again."""

    password = PasswordField(_l("Your password"), validators=[DataRequired(), Length(max=200)])


class EditAccountForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    submit = SubmitField(_l("Save"))


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    q = StringField(_l("Search by email or name"), validators=[Optional(), Length(max=120)])
    role = SelectField(
        _l("Role"), choices=[("", "Any role"), *ROLE_CHOICES], validators=[Optional()]
    )
    status = SelectField(
        _l("Status"),
        choices=[("", "Any status"), ("active", "Active"), ("deactivated", "Deactivated")],
        validators=[Optional()],
    )
