"""Managers and seniors: the live SLA dashboard, actions on late requests, reports, CSV exports."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from .. import formatting, labels
from ..auth import roles_required
from ..clock import utcnow
from ..domain.reference import normalise_reference
from ..domain.roles import EXPORTS_PERSONAL_DATA, SUPERVISES, locked_to_own_unit
from ..extensions import db, zone_named
from ..labels import AVAILABILITY_LABELS, outcome_labels
from ..models import RegionalUnit, Topic
from ..process_cache import ProcessCache
from ..services import phone_line, stats, supervision
from ..services.audit import record_export
from ..staff.forms import check_action_form
from ..web import int_arg
from . import bp
from .charts import bar_chart, line_chart
from .exports import csv_response, report_rows, request_rows

MAX_RANGE_DAYS = 366
# Dates a report can be about (a wider date overflows the time-zone arithmetic).
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Where an action on the dashboard may send the user back: a dashboard page, nothing else.
BACK = re.compile(r"/pilotage(?:/[A-Za-z0-9_/-]*)?(?:\?[A-Za-z0-9_=&%+.-]*)?")
HOURLY_CHART_HOURS = 72



def tz() -> str:
    return current_app.config["TIMEZONE"]


class Filters:
    """The dashboard's and reports' filters, read from the query string.

    A senior always sees its own unit. Bad values are reported, and the default is used.
    """

    def __init__(self, args, user, now: datetime):
        self.errors: list[str] = []
        self.units = db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.id)).all()
        self.topics = db.session.scalars(select(Topic).order_by(Topic.position, Topic.id)).all()
        self.locked_unit = locked_to_own_unit(user.role)
        unit_id = user.unit_id if self.locked_unit else self._choice(args.get("unite"), {u.id for u in self.units},
                                                                     _("Unité inconnue."))
        topic_id = self._choice(args.get("sujet"), {t.id for t in self.topics}, _("Sujet inconnu."))
        self.scope = stats.Scope(unit_id=unit_id, topic_id=topic_id, urgent_only=args.get("urgent") == "1")
        self.today = today = now.astimezone(zone_named(tz())).date()
        self.first = self._date(args.get("du"), today - timedelta(days=6))
        self.last = self._date(args.get("au"), today)
        if self.first > self.last:
            self.errors.append(_("La date de début est après la date de fin : les 7 derniers jours sont affichés."))
            self.first, self.last = today - timedelta(days=6), today
        elif (self.last - self.first).days >= MAX_RANGE_DAYS:
            self.errors.append(_("La période est limitée à %(n)s jours.", n=MAX_RANGE_DAYS))
            self.first = self.last - timedelta(days=MAX_RANGE_DAYS - 1)
        self.grain = args.get("par") if args.get("par") in ("day", "week", "total") else "total"
        self.start, self.end = stats.day_bounds(self.first, self.last, tz())

    def _choice(self, raw: str | None, allowed: set[int], message: str) -> int | None:
        if not raw:
            return None
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value not in allowed:
            self.errors.append(message)
            return None
        return value

    def _date(self, raw: str | None, default: date) -> date:
        if not raw:
            return default
        try:
            if not ISO_DAY.fullmatch(raw):
                raise ValueError(raw)
            day = date.fromisoformat(raw)
        except ValueError:
            self.errors.append(_("Date illisible « %(value)s » : utilisez le calendrier (AAAA-MM-JJ).", value=raw[:20]))
            return default
        if not FIRST_DAY <= day <= LAST_DAY:
            self.errors.append(_("Choisissez une date entre %(first)s et %(last)s.", first=FIRST_DAY.year,
                                 last=LAST_DAY.year))
            return default
        return day

    def query(self, **overrides) -> dict:
        """The filters as query-string arguments, for links and exports."""
        args = {"unite": None if self.locked_unit else self.scope.unit_id, "sujet": self.scope.topic_id,
                "urgent": "1" if self.scope.urgent_only else None, "du": self.first.isoformat(),
                "au": self.last.isoformat(), "par": self.grain}
        args.update(overrides)
        return {key: value for key, value in args.items() if value is not None}

    @property
    def unit_name(self) -> str | None:
        return next((u.name for u in self.units if u.id == self.scope.unit_id), None)


# --- dashboard ------------------------------------------------------------------------------------

def _hour_label(key: str) -> str:
    day, hour = key.split(" ")
    return f"{day[8:10]}/{day[5:7]} {hour} h" if hour == "00" else f"{hour} h"


def _ttfa_label(bound: float | None, previous: float | None) -> str:
    def hours(value: float) -> str:
        return f"{int(value * 60)} min" if value < 1 else f"{value:g} h"
    if bound is None:
        return _("> %(h)s", h=hours(previous))
    return _("< %(h)s", h=hours(bound))


_figures_cache = ProcessCache()


def dashboard_figures(filters: Filters, now: datetime) -> dict:
    """The counts and charts of the dashboard (not its lists, which stay live).

    Shared for ``DASHBOARD_CACHE_SECONDS`` by everyone looking at the same unit, topic and dates
    in this process: a dashboard polled by several managers costs the database once per period.
    """
    key = (id(current_app._get_current_object()), filters.scope, filters.first, filters.last, filters.today)
    return _figures_cache.get(key, current_app.config["DASHBOARD_CACHE_SECONDS"],
                              lambda: _compute_figures(filters, now))


def _compute_figures(filters: Filters, now: datetime) -> dict:
    scope = filters.scope
    days, by_day = stats.within_sla_by_day(scope, filters.first, filters.last, now, tz())
    last_7_days = filters.last == filters.today and (filters.last - filters.first).days == 6
    # The calls today and the requests per channel are counted in the chart's passes.
    activity = stats.hourly_activity(scope, now - timedelta(hours=HOURLY_CHART_HOURS), now, tz(),
                                     calls_since=stats.local_midnight(now, tz()),
                                     channels_between=(filters.start, filters.end))
    headline = stats.headline(scope, now, tz(), week_by_day=by_day if last_7_days else None,
                              calls_today=activity.calls_since)
    histogram = stats.ttfa_histogram(scope, filters.start, filters.end)
    unit_names = {u.id: u.name for u in filters.units}
    sla_series = {short_unit_name(unit_names.get(unit_id, str(unit_id))): [by_day[unit_id][d].rate * 100
                                                           if by_day[unit_id][d].rate is not None else None
                                                           for d in days]
                  for unit_id in sorted(by_day)}
    previous = [None] + [bound for bound, _count in histogram[:-1]]
    charts = {
        "activity": line_chart(_("Demandes reçues et appels passés par heure (72 h)"), activity.keys,
                               {_("Demandes reçues"): activity.values["received"],
                                _("Appels passés"): activity.values["calls"]},
                               labelled=lambda key: key[-2:] in ("00", "06", "12", "18"), key_label=_hour_label),
        "ttfa": bar_chart(_("Délai avant le premier appel"),
                          [_ttfa_label(bound, prev) for (bound, _n), prev in zip(histogram, previous, strict=False)],
                          [count for _bound, count in histogram]),
        "sla": line_chart(_("Part des demandes rappelées dans les délais, par jour et par unité"), days, sla_series,
                          label_every=max(1, len(days) // 10), key_label=lambda d: f"{d[8:10]}/{d[5:7]}",
                          fmt=lambda v: f"{v:g} %", ceiling=100),
    }
    return {
        "headline": headline, "by_unit": headline.by_unit, "by_topic": headline.by_topic,
        "unit_today": headline.within_today_by_unit, "unit_week": headline.within_7_days_by_unit,
        "charts": charts, "activity": activity, "histogram": histogram, "sla_days": days,
        "sla_by_day": {unit: dict(days_) for unit, days_ in by_day.items()}, "unit_names": unit_names,
        "agents_within": stats.within_sla_by_agent(stats.Scope(), stats.local_midnight(now, tz(), days_back=6), now),
        "channels": activity.channels,
        "phone_line": phone_line.figures(filters.start, filters.end, now),
    }


def dashboard_context(now: datetime) -> dict:
    filters = Filters(request.args, current_user, now)
    at_risk, breached = stats.attention_lists(filters.scope, now)
    figures = dashboard_figures(filters, now)
    return {
        **figures, "filters": filters, "now": now,
        "agents": stats.agents_board(filters.scope, now, tz(), within=figures["agents_within"]),
        "at_risk": at_risk, "breached": breached,
        "assignable": supervision.assignable_agents(supervision.Supervisor(current_user)),
        "availability_labels": AVAILABILITY_LABELS, "poll_seconds": current_app.config["DASHBOARD_POLL_SECONDS"],
    }


@bp.get("/pilotage")
@roles_required(SUPERVISES)
def dashboard():
    return render_template("manager/dashboard.html", **dashboard_context(utcnow()))


@bp.get("/pilotage/panneau")
@roles_required(SUPERVISES)
def dashboard_panel():
    """Polled by the dashboard page every few seconds."""
    response = current_app.make_response(render_template("manager/_panel.html", **dashboard_context(utcnow())))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- actions on late requests ---------------------------------------------------------------------

def _back_to_dashboard():
    target = request.form.get("next", "")
    if BACK.fullmatch(target):
        return redirect(target)
    return redirect(url_for("manager.dashboard"))


def _act(reference: str, action) -> None:
    """Run one supervision action on one request, with the message the user sees."""
    try:
        message = action(reference)
    except LookupError:
        abort(404)
    except supervision.SupervisionError as error:
        flash(f"{reference} : {error}", "error")
        return
    if message:
        flash(message, "success")


def _checked() -> supervision.Supervisor:
    check_action_form()
    return supervision.Supervisor(current_user)


def _int_field(name: str) -> int | None:
    return int_arg(request.form, name)


@bp.post("/pilotage/demandes/<ref:reference>/confier")
@roles_required(SUPERVISES)
def reassign(reference: str):
    supervisor = _checked()
    agent_id = _int_field("agent_id")

    def run(ref):
        if agent_id is None:
            raise supervision.SupervisionError(_("Choisissez un conseiller."))
        offer = supervision.reassign(ref, agent_id, supervisor, utcnow())
        return (_("%(ref)s est proposée à %(name)s.", ref=ref, name=offer.agent.name) if offer else
                _("%(ref)s sera le prochain appel de ce conseiller dès qu'il sera libre.", ref=ref))
    _act(reference, run)
    return _back_to_dashboard()


@bp.post("/pilotage/demandes/<ref:reference>/unite")
@roles_required(SUPERVISES)
def move(reference: str):
    supervisor = _checked()
    unit_id = _int_field("unit_id")

    def run(ref):
        if unit_id is None:
            raise supervision.SupervisionError(_("Choisissez une unité."))
        supervision.move_to_unit(ref, unit_id, supervisor, utcnow())
        return _("%(ref)s est envoyée à l'unité %(unit)s.", ref=ref, unit=db.session.get(RegionalUnit, unit_id).name)
    _act(reference, run)
    return _back_to_dashboard()


@bp.post("/pilotage/demandes/<ref:reference>/priorite")
@roles_required(SUPERVISES)
def bump(reference: str):
    supervisor = _checked()
    _act(reference, lambda ref: _("%(ref)s passe en tête de file.", ref=ref)
         if supervision.raise_priority(ref, supervisor, utcnow()) else _("%(ref)s est déjà en tête de file.", ref=ref))
    return _back_to_dashboard()


@bp.post("/pilotage/demandes/groupe")
@roles_required(SUPERVISES)
def bulk():
    """The same action on the requests ticked in the lists."""
    supervisor = _checked()
    references = list(dict.fromkeys(normalise_reference(ref) for ref in request.form.getlist("ref")))[:200]
    action = request.form.get("action")
    unit_id, agent_id = _int_field("unit_id"), _int_field("agent_id")
    if not references:
        flash(_("Cochez au moins une demande."), "error")
        return _back_to_dashboard()
    if action not in ("priority", "unit", "agent") or (action == "unit" and unit_id is None) or (
            action == "agent" and agent_id is None):
        flash(_("Choisissez une action (et le conseiller ou l'unité)."), "error")
        return _back_to_dashboard()
    done, failed = 0, []
    for reference in references:
        try:
            if action == "priority":
                supervision.raise_priority(reference, supervisor, utcnow())
            elif action == "unit":
                supervision.move_to_unit(reference, unit_id, supervisor, utcnow())
            else:  # the first goes to the agent at once if it is free, the others are its next calls
                supervision.reassign(reference, agent_id, supervisor, utcnow())
            done += 1
        except (LookupError, supervision.SupervisionError):
            failed.append(reference)
    if done:
        flash(_("%(n)s demande(s) traitée(s).", n=done), "success")
    if failed:
        flash(_("Non traitées (appel en cours, close, déjà à ce conseiller ou dans cette unité) : %(refs)s",
                refs=", ".join(failed)), "error")
    return _back_to_dashboard()


# --- reports and exports --------------------------------------------------------------------------

@bp.get("/rapports")
@roles_required(SUPERVISES)
def reports():
    now = utcnow()
    filters = Filters(request.args, current_user, now)
    units = stats.report("unit", filters.grain, filters.scope, filters.start, filters.end, now, tz())
    agents = stats.report("agent", filters.grain, filters.scope, filters.start, filters.end, now, tz())
    return render_template("manager/reports.html", filters=filters, units=units, agents=agents,
                           outcomes=stats.OUTCOMES, outcome_labels=outcome_labels(),
                           personal_data=current_user.role in EXPORTS_PERSONAL_DATA)


def _audit_export(what: str, filters: Filters, personal: bool) -> None:
    record_export(user_id=current_user.id, what=what, filters=filters.query(), personal_data=personal, now=utcnow())


@bp.get("/rapports/demandes.csv")
@roles_required(SUPERVISES)
def export_requests():
    """Every request matching the filters (submitted in the period), streamed."""
    filters = Filters(request.args, current_user, utcnow())
    if filters.errors:
        abort(400, " ".join(filters.errors))
    personal = current_user.role in EXPORTS_PERSONAL_DATA
    _audit_export("requests", filters, personal)
    return csv_response(f"demandes-{filters.first}-{filters.last}.csv",
                        request_rows(filters.scope, filters.start, filters.end, personal, tz()))


@bp.get("/rapports/<any(unites, conseillers):dimension>.csv")
@roles_required(SUPERVISES)
def export_report(dimension: str):
    now = utcnow()
    filters = Filters(request.args, current_user, now)
    if filters.errors:
        abort(400, " ".join(filters.errors))
    rows = stats.report("unit" if dimension == "unites" else "agent", filters.grain, filters.scope, filters.start,
                        filters.end, now, tz())
    _audit_export(f"report_{dimension}", filters, False)
    return csv_response(f"rapport-{dimension}-{filters.first}-{filters.last}.csv",
                        report_rows(rows, unit=dimension == "unites"))


# --- formatting for the manager templates -------------------------------------------------------

@bp.app_template_global()
def staff_status_label(status: str) -> str:
    return labels.staff_status_label(status)


@bp.app_template_filter("duration")
def format_duration(seconds: float | None) -> str:
    """3 h 05 min, 45 min, 2 j 4 h: a wait as a manager reads it."""
    if seconds is None:
        return "—"
    minutes = int(seconds // 60)
    if minutes < 60:
        return _("%(m)s min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return _("%(h)s h %(m)02d", h=hours, m=minutes) if minutes else _("%(h)s h", h=hours)
    days, hours = divmod(hours, 24)
    return _("%(d)s j %(h)s h", d=days, h=hours)


@bp.app_template_filter("short_unit")
def short_unit_name(name: str) -> str:
    """« Ouest : Bretagne, Normandie… » → « Ouest », for narrow tables."""
    return name.split(" : ")[0]


@bp.app_template_filter("percent")
def format_percent(share) -> str:
    rate = getattr(share, "rate", share)
    if rate is None:
        return "—"
    return formatting.percent(rate)  # « 40 % » in French, « 40% » in English
