"""Crisis administration (managers and admins): users, units, topics, closed days, SLA, crisis switches.

One module per area; each route is thin: a form in, a service does the work (one transaction,
audited), a page out."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from . import calendar, data, overview, settings_pages, units, users  # noqa: F401
