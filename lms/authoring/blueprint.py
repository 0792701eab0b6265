"""The authoring blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint(
    "authoring",
    __name__,
    url_prefix="/authoring",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
