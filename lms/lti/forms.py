from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, Optional


class PlatformForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    issuer = StringField("Issuer (platform ID)", validators=[DataRequired(), Length(max=255)])
    client_id = StringField("Client ID", validators=[DataRequired(), Length(max=255)])
    auth_login_url = StringField(
        "Authentication request URL", validators=[DataRequired(), URL(require_tld=False)]
    )
    auth_token_url = StringField(
        "Access token URL", validators=[DataRequired(), URL(require_tld=False)]
    )
    key_set_url = StringField(
        "Public keyset URL", validators=[DataRequired(), URL(require_tld=False)]
    )
    deployment_ids = TextAreaField("Deployment IDs", validators=[Optional(), Length(max=5000)])
    centre_id = SelectField("Centre of new accounts and cohorts", coerce=int)
    submit = SubmitField("Save the platform")


class RemovePlatformForm(FlaskForm):
    submit = SubmitField("Remove")
