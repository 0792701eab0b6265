"""The terminal blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint(
    "terminal",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/terminal-static",
)
