"""The cohort page's form for a warm-pool schedule (lms.labs.pools)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, SubmitField
from wtforms.validators import InputRequired

from lms.labs import pools

TIME_FORMAT = "%Y-%m-%dT%H:%M"


class PoolScheduleForm(FlaskForm):
    """“Lab Y: N ready from T1 to T2” (UTC); the rules are ``pools.check_schedule``'s."""

    lab = SelectField(_l("Lab"), validators=[InputRequired(message=_l("Choose a lab."))])
    size = IntegerField(
        _l("Ready labs"),
        validators=[InputRequired(message=_l("Say how many labs should be ready (a number)."))],
    )
    starts_at = DateTimeLocalField(
        _l("From (UTC)"),
        format=TIME_FORMAT,
        validators=[InputRequired(message=_l("Give the start as a date and time."))],
    )
    ends_at = DateTimeLocalField(
        _l("Until (UTC)"),
        format=TIME_FORMAT,
        validators=[InputRequired(message=_l("Give the end as a date and time."))],
    )
    submit = SubmitField(_l("Keep labs ready"))

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        try:
            pools.check_schedule(
                self.lab.data, self.size.data, self.starts_at.data, self.ends_at.data
            )
        except pools.ScheduleInvalid as exc:
            getattr(self, exc.field).errors.append(str(exc))
            return False
        return True
