from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks/twilio")

from . import (
    routes,  # noqa: F401
    sms,  # noqa: F401
    voice,  # noqa: F401
)
