"""Campaigns for the crisis cell: the list, a campaign's progress and answers, creating and
changing one, importing its contacts (upload, preview with the column mapping, progress) and the
export. Seniors follow the campaigns covering their unit; managers and admins run them."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..clock import utcnow
from ..domain import campaigns as rules
from ..domain import contacts_import as reading
from ..domain.campaigns import CampaignError
from ..domain.roles import RUNS_CAMPAIGNS, SUPERVISES
from ..extensions import db
from ..models import Campaign, CampaignImport
from ..services import campaign_import, campaigns, directory
from ..services.audit import record_export
from ..staff.forms import ActionForm, check_action_form
from . import bp
from .exports import csv_response, phone_cell, safe

MAX_UPLOAD = 20 * 1024 * 1024


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or not campaigns.may_see(current_user, campaign):
        abort(404)
    return campaign


@bp.get("/pilotage/campagnes")
@roles_required(SUPERVISES)
def campaign_list():
    shown = campaigns.visible_campaigns(current_user)
    return render_template("manager/campaigns.html", campaigns=shown,
                           progress={c.id: campaigns.progress(c.id) for c in shown}, labels=rules)


def _form_values() -> dict:
    form = request.form
    return {
        "name": form.get("name"), "purpose": form.get("purpose"), "script": form.get("script"),
        "unit_ids": form.getlist("unit_ids"), "topic_id": form.get("topic_id"),
        "questions": [{"label": form.get(f"q{i}_label"), "kind": form.get(f"q{i}_kind"),
                       "choices": form.get(f"q{i}_choices")} for i in range(1, rules.MAX_QUESTIONS + 1)],
        "starts_on": form.get("starts_on"), "ends_on": form.get("ends_on"), "call_from": form.get("call_from"),
        "call_until": form.get("call_until"), "max_attempts": form.get("max_attempts"),
        "retry_gap_minutes": form.get("retry_gap_minutes"), "priority": form.get("priority"),
        "agent_share": form.get("agent_share"),
    }


def _edit(campaign: Campaign | None):
    now = utcnow()
    today = now.astimezone(campaigns.tz()).date()
    if request.method == "POST":
        check_action_form()
        values = _form_values()
        try:
            definition = campaigns.check(values, today, campaign.id if campaign else None)
        except CampaignError as error:
            return render_template("manager/campaign_form.html", campaign=campaign, values=values,
                                   errors=error.errors, **_choices()), 422
        saved = campaigns.save_campaign(definition, user_id=current_user.id, now=now,
                                        campaign_id=campaign.id if campaign else None)
        flash(_("Campagne « %(name)s » enregistrée.", name=saved.name), "success")
        return redirect(url_for("manager.campaign_page", campaign_id=saved.id))
    values = campaigns.definition_values(campaign) if campaign else {
        "starts_on": today.isoformat(), "ends_on": (today.fromordinal(today.toordinal() + 14)).isoformat(),
        "call_from": "09:00", "call_until": "18:00", "max_attempts": 3, "retry_gap_minutes": 120,
        "priority": rules.Priority.CALLBACKS_FIRST.value, "agent_share": 50, "unit_ids": [], "questions": []}
    return render_template("manager/campaign_form.html", campaign=campaign, values=values, errors={}, **_choices())


def _choices() -> dict:
    return {"units": directory.units(), "topics": directory.topics(active_only=True), "labels": rules,
            "action_form": ActionForm(), "max_questions": rules.MAX_QUESTIONS}


@bp.route("/pilotage/campagnes/nouvelle", methods=["GET", "POST"])
@roles_required(RUNS_CAMPAIGNS)
def campaign_new():
    return _edit(None)


@bp.route("/pilotage/campagnes/<int:campaign_id>/modifier", methods=["GET", "POST"])
@roles_required(RUNS_CAMPAIGNS)
def campaign_edit(campaign_id: int):
    return _edit(_campaign(campaign_id))


@bp.get("/pilotage/campagnes/<int:campaign_id>")
@roles_required(SUPERVISES)
def campaign_page(campaign_id: int):
    campaign = _campaign(campaign_id)
    return render_template("manager/campaign.html", campaign=campaign, progress=campaigns.progress(campaign.id),
                           questions=campaigns.questions(campaign), labels=rules, action_form=ActionForm())


@bp.post("/pilotage/campagnes/<int:campaign_id>/etat")
@roles_required(RUNS_CAMPAIGNS)
def campaign_status(campaign_id: int):
    check_action_form()
    campaign = _campaign(campaign_id)
    try:
        campaigns.set_status(campaign.id, request.form.get("status", ""), user_id=current_user.id, now=utcnow())
        flash(_("Campagne : %(state)s.", state=_(rules.CAMPAIGN_STATUS_LABELS[request.form["status"]])), "success")
    except (CampaignError, ValueError, KeyError) as error:
        flash("; ".join(_(message) for message in getattr(error, "errors", {}).values()) or _("État inconnu."),
              "error")
    return redirect(url_for("manager.campaign_page", campaign_id=campaign.id))


def _upload_dir() -> Path:
    path = Path(current_app.instance_path) / "campaign-uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


@bp.route("/pilotage/campagnes/<int:campaign_id>/import", methods=["GET", "POST"])
@roles_required(RUNS_CAMPAIGNS)
def campaign_import_page(campaign_id: int):
    """Upload a file, see the preview with the column mapping, then start the import."""
    # A contacts file is larger than the app's usual request limit (MAX_CONTENT_LENGTH): this route
    # alone accepts up to 20 MB, before anything reads the form.
    request.max_content_length = MAX_UPLOAD + 64 * 1024
    request.max_form_memory_size = MAX_UPLOAD + 64 * 1024
    campaign = _campaign(campaign_id)
    context = {"campaign": campaign, "fields": reading.FIELDS, "action_form": ActionForm()}
    if request.method == "GET":
        return render_template("manager/campaign_import.html", **context)
    check_action_form()
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            flash(_("Le fichier dépasse 20 Mo : découpez-le."), "error")
            return render_template("manager/campaign_import.html", **context), 422
        digest = hashlib.sha256(data).hexdigest()
        (_upload_dir() / f"{digest}.csv").write_bytes(data)
        filename = upload.filename
        mapping = None
    else:
        digest = request.form.get("digest", "")
        filename = request.form.get("filename", "contacts.csv")
        path = _upload_dir() / f"{digest}.csv"
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest) or not path.exists():
            flash(_("Choisissez d'abord un fichier CSV."), "error")
            return render_template("manager/campaign_import.html", **context), 422
        data = path.read_bytes()
        mapping = {name: int(request.form[f"col_{name}"]) for name in reading.FIELDS
                   if request.form.get(f"col_{name}", "").isdigit()}
    try:
        checked = campaign_import.check(campaign, data, mapping)
    except reading.FileError as error:
        flash(_(error.message, **error.params), "error")
        return render_template("manager/campaign_import.html", **context), 422
    if request.form.get("confirm") == "1" and not checked.problems:
        record = campaign_import.start_import(campaign, data, filename, checked.mapping, current_user.id, utcnow())
        (_upload_dir() / f"{digest}.csv").unlink(missing_ok=True)
        return redirect(url_for("manager.campaign_import_progress", campaign_id=campaign.id, import_id=record.id))
    return render_template("manager/campaign_import.html", checked=checked, digest=digest, filename=filename,
                           sample=checked.table.rows[:5], **context)


def _import(campaign: Campaign, import_id: int) -> CampaignImport:
    record = db.session.get(CampaignImport, import_id)
    if record is None or record.campaign_id != campaign.id:
        abort(404)
    return record


@bp.get("/pilotage/campagnes/<int:campaign_id>/import/<int:import_id>")
@roles_required(RUNS_CAMPAIGNS)
def campaign_import_progress(campaign_id: int, import_id: int):
    campaign = _campaign(campaign_id)
    return render_template("manager/campaign_import_progress.html", campaign=campaign,
                           record=_import(campaign, import_id), fields=reading.FIELDS)


@bp.get("/pilotage/campagnes/<int:campaign_id>/import/<int:import_id>.json")
@roles_required(RUNS_CAMPAIGNS)
def campaign_import_status(campaign_id: int, import_id: int):
    record = _import(_campaign(campaign_id), import_id)
    return jsonify({"status": record.status, "processed": record.processed_rows, "total": record.total_rows,
                    "report": {k: v for k, v in (record.report or {}).items() if k != "mapping"}})


@bp.get("/pilotage/campagnes/<int:campaign_id>/resultats.csv")
@roles_required(RUNS_CAMPAIGNS)
def campaign_export(campaign_id: int):
    campaign = _campaign(campaign_id)
    record_export(user_id=current_user.id, what="campaign", filters={"campaign_id": campaign.id},
                  personal_data=True, now=utcnow())
    phone = campaigns.EXPORT_PHONE_COLUMN
    return csv_response(f"campagne-{campaign.id}.csv",
                        ([phone_cell(cell) if i == phone and number else safe(cell) if isinstance(cell, str) else cell
                          for i, cell in enumerate(row)]
                         for number, row in enumerate(campaigns.export_rows(campaign.id))))
