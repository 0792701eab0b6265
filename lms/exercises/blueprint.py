"""The exercises blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint("exercises", __name__, template_folder="templates", static_folder="static")
