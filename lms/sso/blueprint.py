"""The sso blueprint, in a module of its own so that its views need not import the package."""

from flask import Blueprint

bp = Blueprint("sso", __name__, template_folder="templates")
