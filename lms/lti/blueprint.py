"""The lti blueprint, in a module of its own so that its views need not import the package."""

from flask import Blueprint

bp = Blueprint("lti", __name__, template_folder="templates")
