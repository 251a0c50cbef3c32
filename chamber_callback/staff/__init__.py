from flask import Blueprint

bp = Blueprint("staff", __name__)

from . import app_shell, phone_simulator, planning, routes  # noqa: F401
