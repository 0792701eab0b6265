"""The metrics blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint("metrics", __name__)
