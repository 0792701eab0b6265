"""The centres blueprint, in a module of its own: the view modules register their
routes on it without importing the package that imports them."""

from flask import Blueprint

bp = Blueprint(
    "centres",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/centres/static",
)
