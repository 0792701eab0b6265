"""The catalog blueprint, apart from the package so that its views need not import it.

Its catalogue, course and module pages show the trainee's progress, so they are routes of
lms.progress.course_pages (progress sits above catalog); catalog's own views serve
course images and the code highlighting style."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, template_folder="templates")
