"""The api blueprint, apart from the package so that its views need not import it."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
