"""The auth blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint("auth", __name__, template_folder="templates")
