from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, Optional


class PlatformForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    issuer = StringField(_l("Issuer (platform ID)"), validators=[DataRequired(), Length(max=255)])
    client_id = StringField(_l("Client ID"), validators=[DataRequired(), Length(max=255)])
    auth_login_url = StringField(
        _l("Authentication request URL"), validators=[DataRequired(), URL(require_tld=False)]
    )
    auth_token_url = StringField(
        _l("Access token URL"), validators=[DataRequired(), URL(require_tld=False)]
    )
    key_set_url = StringField(
        _l("Public keyset URL"), validators=[DataRequired(), URL(require_tld=False)]
    )
    deployment_ids = TextAreaField(_l("Deployment IDs"), validators=[Optional(), Length(max=5000)])
    centre_id = SelectField(_l("Centre of new accounts and cohorts"), coerce=int)
    submit = SubmitField(_l("Save the platform"))


class RemovePlatformForm(FlaskForm):
    submit = SubmitField(_l("Remove"))
