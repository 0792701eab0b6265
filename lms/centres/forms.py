from flask import abort
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
    name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    country = StringField("Country", validators=[Optional(), Length(max=80)])
    partners = SelectMultipleField(
        "Partner centres (we share our shared courses with them)",
        coerce=int,
        validators=[Optional()],
    )
    submit = SubmitField("Save the centre")


class NewCentreForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=160)])
    country = StringField("Country", validators=[Optional(), Length(max=80)])
    submit = SubmitField("Create the centre")


class EmailForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField("Add")


class OfferCourseForm(FlaskForm):
    course = SelectField("Course", coerce=int)
    shared = BooleanField("Share it with our partner centres")
    submit = SubmitField("Offer this course")


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token is checked."""

    value = HiddenField()


def action_or_400() -> None:
    """Check the CSRF token of an action button; a 400 with what to do if it expired."""
    if not ActionForm().validate_on_submit():
        abort(400, description="Your form expired. Reload the page and try again.")


class CohortForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    starts_on = DateField("Starts on", validators=[Optional()])
    ends_on = DateField("Ends on", validators=[Optional()])
    submit = SubmitField("Save the cohort")

    def validate_ends_on(self, field):
        if field.data and self.starts_on.data and field.data < self.starts_on.data:
            raise ValidationError("The cohort cannot end before it starts.")


class AddTraineeForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Full name", validators=[Optional(), Length(max=120)])
    submit = SubmitField("Add the trainee")


class RosterUploadForm(FlaskForm):
    file = FileField("CSV file (columns: email, name, cohort)", validators=[FileRequired()])
    submit = SubmitField("Upload and add")


class AssignCourseForm(FlaskForm):
    course = SelectField("Course", coerce=int)
    due_on = DateField("Due on", validators=[Optional()])
    submit = SubmitField("Assign")


class MoveTraineeForm(FlaskForm):
    target = SelectField("Move to", coerce=int)
    submit = SubmitField("Move")
