from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class EditFileForm(FlaskForm):
    text = TextAreaField("File content", validators=[Length(max=512 * 1024)])
    submit = SubmitField("Save")


class NewModuleForm(FlaskForm):
    filename = StringField("File name", validators=[DataRequired(), Length(max=80)])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Add the module")


class PublishForm(FlaskForm):
    submit = SubmitField("Publish the course")
