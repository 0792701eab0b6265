"""Forms of password resets, two-factor sign-in and the account admin pages."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional

from lms.auth.forms import ROLE_CHOICES, NewPasswordMixin


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField("Send me a link")


class ResetPasswordForm(NewPasswordMixin, FlaskForm):
    submit = SubmitField("Set the new password")


class SecondFactorForm(FlaskForm):
    code = StringField(
        "Code from your authenticator app, or a recovery code",
        validators=[DataRequired(), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off"},
    )
    submit = SubmitField("Continue")


class ConfirmTwoFactorForm(FlaskForm):
    code = StringField(
        "The 6-digit code the app shows",
        validators=[DataRequired(), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Switch on two-factor sign-in")


class PasswordCheckForm(FlaskForm):
    """A change to how one signs in asks for the password again."""

    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)])


class EditAccountForm(FlaskForm):
    name = StringField("Full name", validators=[Optional(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    submit = SubmitField("Save")


class UserSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search

    q = StringField("Search by email or name", validators=[Optional(), Length(max=120)])
    role = SelectField("Role", choices=[("", "Any role"), *ROLE_CHOICES], validators=[Optional()])
    status = SelectField(
        "Status",
        choices=[("", "Any status"), ("active", "Active"), ("deactivated", "Deactivated")],
        validators=[Optional()],
    )
