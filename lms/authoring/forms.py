from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class EditFileForm(FlaskForm):
    text = TextAreaField(_l("File content"), validators=[Length(max=512 * 1024)])
    submit = SubmitField(_l("Save"))


class NewModuleForm(FlaskForm):
    filename = StringField(_l("File name"), validators=[DataRequired(), Length(max=80)])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Add the module"))


class PublishForm(FlaskForm):
    submit = SubmitField(_l("Publish the course"))
