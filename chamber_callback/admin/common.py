"""What the administration pages share: who acts, today's date, errors next to their field."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from flask import current_app, flash
from flask_login import current_user

from ..clock import utcnow
from ..domain.actors import Actor
from ..services.admin import AdminError


def actor() -> Actor:
    return Actor.staff(current_user.id)


def today() -> date:
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def field_error(form, error: AdminError) -> None:
    """Put the service's message next to its field (or on top of the page)."""
    if error.field and error.field in form:
        form[error.field].errors = list(form[error.field].errors) + [error.message]
    else:
        flash(error.message, "error")
