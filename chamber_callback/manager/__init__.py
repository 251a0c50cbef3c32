from flask import Blueprint

bp = Blueprint("manager", __name__)

from . import forecast, routes  # noqa: F401
