"""Crisis administration (managers and admins): users, units, topics, closed days, SLA, crisis switches."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import routes  # noqa: F401
