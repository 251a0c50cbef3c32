"""Closed days and public holidays."""
from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import ADMINISTERS
from ..extensions import db
from ..labels import SUBDIVISION_LABELS
from ..models import ClosedDay
from ..services import directory, settings
from ..services.closed_days import (
    ClosedDayError,
    add_closed_day,
    closed_days_from,
    public_holidays_ahead,
    remove_closed_day,
)
from ..staff.forms import ActionForm, check_action_form
from . import bp
from .common import actor, today
from .forms import ClosedDayForm, choices

# --- closed days and public holidays -----------------------------------------------------------------

def _closed_days_page(form=None, status=200):
    if form is None:
        form = ClosedDayForm(formdata=None)
    form.unit_id.choices = choices([("", _("Toute la chambre"))] + [(str(u.id), u.name) for u in directory.units()])
    return render_template("admin/closed_days.html", form=form, days=closed_days_from(today() - timedelta(days=7)),
                           action_form=ActionForm(), business_clock=settings.get("SLA_CLOCK") == "business"), status


@bp.route("/jours-fermes", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def closed_days():
    if request.method == "GET":
        return _closed_days_page()
    form = ClosedDayForm()
    form.unit_id.choices = choices([("", "")] + [(str(u.id), u.name) for u in directory.units()])
    if form.validate_on_submit():
        try:
            change = add_closed_day(form.day.data, int(form.unit_id.data) if form.unit_id.data else None,
                                    form.reason.data, actor=actor(), now=utcnow())
        except ClosedDayError as error:
            form.reason.errors = [error.message]
        else:
            if change.changed:
                flash(_("Jour fermé ajouté ; %(n)d demande(s) en attente ont une nouvelle échéance.",
                        n=change.moved), "success")
            else:
                flash(_("Ce jour était déjà fermé."), "success")
            return redirect(url_for("admin.closed_days"))
    return _closed_days_page(form, status=422)


@bp.post("/jours-fermes/<int:closed_day_id>/supprimer")
@roles_required(ADMINISTERS)
def closed_day_remove(closed_day_id: int):
    closed = db.session.get(ClosedDay, closed_day_id) or abort(404)
    check_action_form()
    change = remove_closed_day(closed.day, closed.unit_id, actor=actor(), now=utcnow())
    flash(_("Jour rouvert ; %(n)d demande(s) en attente ont une nouvelle échéance.", n=change.moved), "success")
    return redirect(url_for("admin.closed_days"))




@bp.get("/jours-feries")
@roles_required(ADMINISTERS)
def public_holidays_view():
    """The public holidays of the coming year: the national ones once, then for each unit the
    départements with more (Alsace, Moselle, overseas) and their extra days."""
    national, by_unit = public_holidays_ahead(today())
    return render_template("admin/holidays.html", national=national, groups_by_unit=by_unit,
                           subdivision_labels=SUBDIVISION_LABELS,
                           business_clock=settings.get("SLA_CLOCK") == "business")
