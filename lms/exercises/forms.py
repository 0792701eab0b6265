"""The forms of the exercise set-up pages (labels through lazy_gettext)."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from lms.exercises.lifecycle import MAX_EXTEND_MINUTES
from lms.exercises.models import SCOREBOARD_AFTER, SCOREBOARD_HIDDEN, SCOREBOARD_LIVE
from lms.exercises.teams import MAX_DURATION_MINUTES, MAX_TEAM_NAME, MAX_TEAM_SIZE, MAX_TITLE

SCOREBOARD_LABELS = (
    (SCOREBOARD_LIVE, _l("Live: teams see it during the exercise")),
    (SCOREBOARD_AFTER, _l("After the end: teams see it once the exercise has ended")),
    (SCOREBOARD_HIDDEN, _l("Hidden: only the white cell sees it")),
)


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class NewExerciseForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=MAX_TITLE)])
    lab = SelectField(_l("Team lab"), validators=[DataRequired()])
    cohorts = CheckboxesField(
        _l("Cohorts taking part (yours and your partner centres')"), coerce=int
    )
    duration_minutes = IntegerField(
        _l("Duration in minutes (empty: the lab's own)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_DURATION_MINUTES)],
    )
    scoreboard = SelectField(_l("Scoreboard"), choices=SCOREBOARD_LABELS)
    submit = SubmitField(_l("Create the exercise"))


class AddTeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=MAX_TEAM_NAME)])
    submit = SubmitField(_l("Add the team"))


class PutMemberForm(FlaskForm):
    user = SelectField(_l("Trainee"), coerce=int)
    team = SelectField(_l("Team"), coerce=int)
    role = SelectField(_l("Role"))
    submit = SubmitField(_l("Put into the team"))


class CsvTeamsForm(FlaskForm):
    file = FileField(_l("CSV file (email,team,role)"), validators=[FileRequired()])
    submit = SubmitField(_l("Upload and apply"))


class MixTeamsForm(FlaskForm):
    team_size = IntegerField(
        _l("Trainees per team"),
        default=3,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_TEAM_SIZE)],
    )
    submit = SubmitField(_l("Mix centres automatically"))


class ExtendForm(FlaskForm):
    minutes = IntegerField(
        _l("Minutes"),
        default=15,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_EXTEND_MINUTES)],
    )
    submit = SubmitField(_l("Extend"))
