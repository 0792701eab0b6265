"""The course editor: instructors edit course files in the browser, preview, validate, publish."""

from flask import Blueprint

bp = Blueprint(
    "authoring",
    __name__,
    url_prefix="/authoring",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from lms.authoring import views  # noqa: E402,F401  (routes attach to bp)
