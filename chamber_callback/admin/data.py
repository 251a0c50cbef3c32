"""The artisans' data (RGPD): find everything held about a phone or an e-mail, export it (JSON or a
printable page), erase it; and the information given on the form (the DPO's contact, the privacy
notice). For admins and the data protection officer. The phone or address searched for travels in
POST bodies only, never in a URL."""
from __future__ import annotations

import json

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..auth import roles_required
from ..clock import utcnow
from ..domain.roles import HANDLES_DATA_REQUESTS
from ..services import data_rights
from . import bp
from .common import actor
from .forms import DataSubjectForm, EraseForm, PrivacySettingsForm
from .settings_pages import _save_settings, _settings_form

PRIVACY_KEYS = ("DPO_CONTACT", "PRIVACY_NOTICE_URL")


def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _subject(form) -> data_rights.Subject | None:
    try:
        return data_rights.Subject.parse(form.phone.data, form.email.data)
    except data_rights.DataRightsError as error:
        form[error.field or "phone"].errors = list(form[error.field or "phone"].errors) + [_(error.message)]
        return None


def _page(search=None, settings_form=None, status=200):
    return _private(current_app.make_response((render_template(
        "admin/data.html", form=search or DataSubjectForm(formdata=None),
        settings_form=settings_form or _settings_form(PrivacySettingsForm, PRIVACY_KEYS),
        legal_basis=current_app.config["LEGAL_BASIS"]), status)))


def _posted_dossier(what: str):
    """(form, subject, dossier) from the posted phone or e-mail, the read recorded; subject None
    when the form does not hold one (its errors are on the form)."""
    form = DataSubjectForm()
    subject = _subject(form) if form.validate_on_submit() else None
    if subject is None:
        return form, None, None
    found = data_rights.dossier(subject)
    data_rights.record_access(subject, what, len(found.requests), actor(), utcnow())
    return form, subject, found


@bp.get("/donnees")
@roles_required(HANDLES_DATA_REQUESTS)
def data_home():
    return _page()


@bp.post("/donnees/dossier")
@roles_required(HANDLES_DATA_REQUESTS)
def data_dossier():
    """Everything held about one artisan, as a page that prints as the answer to an access request."""
    form, subject, found = _posted_dossier("viewed")
    if subject is None:
        return _page(search=form, status=422)
    return _private(current_app.make_response(render_template(
        "admin/data_dossier.html", found=found, erase_form=EraseForm(formdata=None, phone=form.phone.data,
                                                                     email=form.email.data), now=utcnow())))


@bp.post("/donnees/export.json")
@roles_required(HANDLES_DATA_REQUESTS)
def data_export():
    form, subject, found = _posted_dossier("exported")
    if subject is None:
        return _page(search=form, status=422)
    response = current_app.response_class(json.dumps(data_rights.as_json(found, utcnow()), ensure_ascii=False,
                                                     indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = "attachment; filename=donnees-artisan.json"
    return _private(response)


@bp.post("/donnees/effacer")
@roles_required(HANDLES_DATA_REQUESTS)
def data_erase():
    form = EraseForm()
    confirmed = form.validate_on_submit()
    subject = _subject(form)
    if subject is None:
        return _page(search=form, status=422)
    try:
        if not confirmed:
            raise data_rights.DataRightsError(form.confirm.errors[0] if form.confirm.errors else "")
        count = data_rights.erase(subject, actor(), utcnow(), why="erasure request (RGPD art. 17)")
    except data_rights.DataRightsError as error:
        if error.message:
            flash(_(error.message), "error")
        found = data_rights.dossier(subject)  # shown again: a read, recorded like any other
        data_rights.record_access(subject, "viewed", len(found.requests), actor(), utcnow())
        return _private(current_app.make_response((render_template(
            "admin/data_dossier.html", found=found, erase_form=form, now=utcnow()), 422)))
    flash(_("%(n)d demande(s) effacée(s) : les données personnelles sont remplacées, les chiffres restent.", n=count),
          "success")
    return redirect(url_for("admin.data_home"))


@bp.post("/donnees/informations")
@roles_required(HANDLES_DATA_REQUESTS)
def data_settings():
    form = PrivacySettingsForm()
    if _save_settings(form, PRIVACY_KEYS):
        return redirect(url_for("admin.data_home"))
    return _page(settings_form=form, status=422)

