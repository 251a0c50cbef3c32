from flask import Blueprint

bp = Blueprint("manager", __name__)

from . import forecast, prefecture, routes  # noqa: F401
