"""Administration home and journal."""
from __future__ import annotations

from flask import render_template, request

from ..auth import roles_required
from ..domain.roles import ADMINISTERS, HANDLES_DATA_REQUESTS
from ..labels import ACTION_LABELS, CLOCK_LABELS, FIELD_LABELS
from ..services import directory, settings
from ..services.journal import journal_page
from ..web import int_arg
from . import bp
from .common import today

# --- home --------------------------------------------------------------------------------------------

@bp.get("/")
@roles_required(ADMINISTERS)
def home():
    return render_template("admin/home.html", crisis=settings.intake_state(), overview=directory.overview(today()),
                           sla_clock=CLOCK_LABELS[settings.get("SLA_CLOCK")])


# --- the journal ---------------------------------------------------------------------------------------

@bp.get("/journal")
@roles_required(ADMINISTERS | HANDLES_DATA_REQUESTS)
def journal():
    page = int_arg(request.args, "page") or 1  # journal_page clamps it to the pages there are
    kind = request.args.get("quoi") if request.args.get("quoi") in ("lectures",) else None
    return render_template("admin/journal.html", journal=journal_page(page, "reads" if kind else "changes"),
                           field_labels=FIELD_LABELS,
                           action_labels=ACTION_LABELS)
