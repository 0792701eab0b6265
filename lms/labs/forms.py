"""Forms of the lab panel when JavaScript is off (the panel's script posts JSON instead)."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, Optional

from lms.labs.flags import MAX_FLAG_LENGTH


class LabActionForm(FlaskForm):
    """Start, stop, extend, restart: only the CSRF token and where to go back to."""

    next = HiddenField()
    module = IntegerField(validators=[Optional()])


class TaskForm(LabActionForm):
    """Check a task, or reveal its hint."""

    task = HiddenField(validators=[DataRequired(), Length(max=64)])


class FlagForm(TaskForm):
    flag = StringField(
        "Flag",
        validators=[DataRequired(message="Paste the flag you found."), Length(max=MAX_FLAG_LENGTH)],
    )
