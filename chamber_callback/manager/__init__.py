from flask import Blueprint

bp = Blueprint("manager", __name__)

from . import campaigns, forecast, prefecture, routes  # noqa: F401
