"""The certificates blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint("certificates", __name__, template_folder="templates")
