"""The exercises blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

# Every page lives under /exercises (the index is the rule ""); static files under
# /exercises/static.
bp = Blueprint(
    "exercises",
    __name__,
    url_prefix="/exercises",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
