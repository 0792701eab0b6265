"""The exercises blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

# Its own static path: a blueprint without a url_prefix would otherwise serve /static,
# which the application's static route shadows.
bp = Blueprint(
    "exercises",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/exercises/static",
)
