from flask import abort
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError


class CentreForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    country = StringField(_l("Country"), validators=[Optional(), Length(max=80)])
    partners = SelectMultipleField(
        _l("Partner centres (we share our shared courses with them)"),
        coerce=int,
        validators=[Optional()],
    )
    submit = SubmitField(_l("Save the centre"))


class NewCentreForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=160)])
    country = StringField(_l("Country"), validators=[Optional(), Length(max=80)])
    submit = SubmitField(_l("Create the centre"))


class EmailForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Add"))


class OfferCourseForm(FlaskForm):
    course = SelectField(_l("Course"), coerce=int)
    shared = BooleanField(_l("Share it with our partner centres"))
    submit = SubmitField(_l("Offer this course"))


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token is checked."""

    value = HiddenField()


def action_or_400() -> None:
    """Check the CSRF token of an action button; a 400 with what to do if it expired."""
    if not ActionForm().validate_on_submit():
        abort(400, description=_l("Your form expired. Reload the page and try again."))


class CohortForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    starts_on = DateField(_l("Starts on"), validators=[Optional()])
    ends_on = DateField(_l("Ends on"), validators=[Optional()])
    submit = SubmitField(_l("Save the cohort"))

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The cohort cannot end before it starts.")


class AddTraineeForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Full name"), validators=[Optional(), Length(max=120)])
    submit = SubmitField(_l("Add the trainee"))


class RosterUploadForm(FlaskForm):
    file = FileField(_l("CSV file (columns: email, name, cohort)"), validators=[FileRequired()])
    submit = SubmitField(_l("Upload and add"))


class AssignCourseForm(FlaskForm):
    course = SelectField(_l("Course"), coerce=int)
    due_on = DateField(_l("Due on"), validators=[Optional()])
    submit = SubmitField(_l("Assign"))


class MoveTraineeForm(FlaskForm):
    target = SelectField(_l("Move to"), coerce=int)
    submit = SubmitField(_l("Move"))
