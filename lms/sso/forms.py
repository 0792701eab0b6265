from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from lms.sso.services import MAPPABLE_ROLES


class IssuerForm(FlaskForm):
    discovery_url = StringField(_l("Discovery URL"), validators=[DataRequired(), Length(max=500)])
    client_id = StringField(_l("Client ID"), validators=[DataRequired(), Length(max=255)])
    # Never filled in from the saved value: an empty field keeps the saved secret.
    client_secret = PasswordField(_l("Client secret"), validators=[Optional(), Length(max=1000)])
    role_claim = StringField(_l("Role claim"), validators=[Optional(), Length(max=100)])
    role_mapping = TextAreaField(_l("Role mapping"), validators=[Optional(), Length(max=5000)])
    default_role = SelectField(
        _l("Role of new accounts when no value is mapped"),
        choices=[(role.value, role.label) for role in MAPPABLE_ROLES],
    )
    enabled = BooleanField(_l("Offer “Sign in with this centre” on the sign-in page"))
    submit = SubmitField(_l("Save single sign-on"))


class RemoveIssuerForm(FlaskForm):
    submit = SubmitField(_l("Remove single sign-on"))
