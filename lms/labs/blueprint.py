"""The labs blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint(
    "labs", __name__, url_prefix="/labs", template_folder="templates", static_folder="static"
)
