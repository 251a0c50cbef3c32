"""The anonymised daily needs report for the prefecture: the page with its day picker, the CSV and
the printable page (managers and admins). The figures and their texts come from
``services.needs_report``, so the three show the same."""
from __future__ import annotations

from datetime import date, datetime

from flask import abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..clock import utcnow
from ..domain import needs_report as rules
from ..domain.roles import SEES_ALL_UNITS
from ..extensions import zone_named
from ..services import needs_report
from ..services.audit import record_export
from . import bp
from .exports import csv_response, safe
from .routes import FIRST_DAY, ISO_DAY


def _day(now: datetime) -> tuple[date, date, str | None]:
    """The day asked for (``jour``), today, and a message when it could not be used."""
    tz = needs_report.tz()
    today = now.astimezone(zone_named(tz)).date()
    default = needs_report.default_day(now, tz)
    raw = request.args.get("jour")
    if not raw:
        return default, today, None
    try:
        if not ISO_DAY.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        return default, today, _("Date illisible « %(value)s » : utilisez le calendrier (AAAA-MM-JJ).",
                                 value=raw[:20])
    if not FIRST_DAY <= day <= today:
        return default, today, _("Choisissez un jour entre le %(first)s et aujourd'hui.",
                                 first=FIRST_DAY.strftime("%d/%m/%Y"))
    return day, today, None


def _context(day: date, today: date, error: str | None) -> dict:
    return {"report": needs_report.report_for(day), "today": today, "error": error,
            "method_note": needs_report.method_note(), "min_count": rules.MIN_COUNT}


@bp.get("/pilotage/prefecture")
@roles_required(SEES_ALL_UNITS)
def prefecture_report():
    day, today, error = _day(utcnow())
    return render_template("manager/prefecture.html", **_context(day, today, error))


@bp.get("/pilotage/prefecture/imprimer")
@roles_required(SEES_ALL_UNITS)
def prefecture_report_print():
    day, today, error = _day(utcnow())
    return render_template("manager/prefecture_print.html", short_note=_(
        "Données anonymes : aucun chiffre inférieur à %(n)s n'est publié (petits effectifs regroupés en « autres… » "
        "ou masqués « < %(n)s ») ; tendance par rapport à la moyenne des %(days)s jours précédents.",
        n=rules.MIN_COUNT, days=rules.BASELINE_DAYS), **_context(day, today, error))


@bp.get("/pilotage/prefecture.csv")
@roles_required(SEES_ALL_UNITS)
def prefecture_report_csv():
    now = utcnow()
    day, _today, error = _day(now)
    if error:
        abort(400, error)
    report = needs_report.report_for(day)
    record_export(user_id=current_user.id, what="prefecture", filters={"jour": day.isoformat()},
                  personal_data=False, now=now)
    # Labels (a topic's is typed by an admin) are defused; the figures are ours (« +40 % », « < 5 »).
    figures = range(len(needs_report.csv_header()) - 3, len(needs_report.csv_header()))
    return csv_response(f"besoins-artisans-{day.isoformat()}.csv",
                        ([cell if i in figures else safe(cell) for i, cell in enumerate(row)]
                         for row in needs_report.csv_rows(report)))
