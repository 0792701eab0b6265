"""Courses: loading and validating Markdown folders, rendering, the catalogue pages."""

from flask import Blueprint

bp = Blueprint("catalog", __name__, template_folder="templates")

from lms.catalog import views  # noqa: E402,F401  (routes attach to bp)
