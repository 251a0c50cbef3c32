"""SLA and escalation settings, and the crisis switches."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import ADMINISTERS
from ..labels import CLOCK_LABELS, MET_ON_LABELS
from ..services import settings
from . import bp
from .common import actor
from .forms import CrisisForm, SlaSettingsForm

SLA_KEYS = ("SLA_HOURS", "SLA_CLOCK", "SLA_MET_ON", "ESCALATION_LEVELS", "ESCALATION_REPEAT_HOURS",
            "OFFER_TIMEOUT_SECONDS", "RETRY_GAP_MINUTES", "MAX_ATTEMPTS")
CRISIS_KEYS = ("INTAKE_URGENT_ONLY", "PUBLIC_BANNER", "INTAKE_PAUSED", "INTAKE_PAUSED_MESSAGE", "CHAMBER_PHONE",
               "CHAMBER_HOURS", "TWO_FACTOR_FOR_EVERYONE", "PARTNER_SITES", "PREFECTURE_REPORT_RECIPIENTS")


# --- SLA and escalation settings, crisis switches ----------------------------------------------------

def _settings_form(form_class, keys, form=None):
    if form is None:
        form = form_class(formdata=None)
        for key in keys:
            form[key].data = settings.raw(key)
    return form


def _display(value):
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",")
    return value


def _clean(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _save_settings(form, keys) -> bool:
    """Every bad value gets its message (form checks and the settings' own rules), and nothing is
    written unless all are good."""
    valid = form.validate_on_submit()
    try:
        settings.validate({key: _clean(form[key].data) for key in keys if not form[key].errors})
    except settings.SettingsError as error:
        for key, message in error.errors.items():
            form[key].errors = list(form[key].errors) + [message]
        valid = False
    if not valid:
        return False
    changed = settings.update({key: _clean(form[key].data) for key in keys}, actor(), utcnow())
    flash(_("%(n)d réglage(s) modifié(s).", n=len(changed)) if changed else _("Aucune modification."), "success")
    return True


@bp.route("/delais", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def sla_settings():
    form = SlaSettingsForm() if request.method == "POST" else None
    if form is not None and _save_settings(form, SLA_KEYS):
        return redirect(url_for("admin.sla_settings"))
    form = _settings_form(SlaSettingsForm, SLA_KEYS, form)
    defaults = {key: _display(settings.raw_config(key)) for key in SLA_KEYS}
    overridden = {key for key in SLA_KEYS if settings.is_overridden(key)}
    return render_template("admin/sla_settings.html", form=form, defaults=defaults, overridden=overridden,
                           clock_labels=CLOCK_LABELS, met_on_labels=MET_ON_LABELS), 422 if form.errors else 200


@bp.route("/crise", methods=["GET", "POST"])
@roles_required(ADMINISTERS)
def crisis():
    form = CrisisForm() if request.method == "POST" else None
    if form is not None and _save_settings(form, CRISIS_KEYS):
        return redirect(url_for("admin.crisis"))
    form = _settings_form(CrisisForm, CRISIS_KEYS, form)
    return render_template("admin/crisis.html", form=form, crisis=settings.intake_state(),
                           site_url=current_app.config["PUBLIC_BASE_URL"] or request.host_url.rstrip("/")), \
        422 if form.errors else 200
