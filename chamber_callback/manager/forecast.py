"""The outlook page: the next 24 hours of arrivals, breaches and the agents that would prevent
them, and the what-if a manager tries (more or fewer agents, another promise)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import render_template, request
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from flask_login import current_user

from ..auth import roles_required
from ..clock import utcnow
from ..domain.forecast import open_share_per_hour
from ..domain.roles import SUPERVISES, locked_to_own_unit
from ..services import forecast as outlook_service
from ..web import int_arg
from . import bp

AGENT_CHANGE = 200  # a what-if changes a unit by at most this many agents
SLA_RANGE = (1, 168)


@dataclass(frozen=True)
class Slot:
    """Extra agents over consecutive hours (local labels)."""

    agents: int
    first: int
    last: int  # exclusive


def grouped(slots: list[tuple[int, int]]) -> list[Slot]:
    """(hour, agents) pairs as runs of consecutive hours needing the same number of agents."""
    runs: list[Slot] = []
    for hour, agents in slots:
        if runs and runs[-1].last == hour and runs[-1].agents == agents:
            runs[-1] = Slot(agents, runs[-1].first, hour + 1)
        else:
            runs.append(Slot(agents, hour, hour + 1))
    return runs


def _read_what_if(args, codes: list[str], sla_hours: float, errors: list[str]) -> outlook_service.WhatIf | None:
    agents = {}
    for code in codes:
        raw = (args.get(f"plus_{code}") or "").strip()
        if not raw:
            continue
        value = int_arg(args, f"plus_{code}", -AGENT_CHANGE, AGENT_CHANGE)
        if value is None:
            errors.append(_("Unité %(code)s : indiquez un nombre entier d'agents entre -%(n)s et %(n)s.",
                            code=code, n=AGENT_CHANGE))
            continue
        agents[code] = value
    sla = None
    raw = (args.get("delai") or "").strip()
    if raw:
        sla = int_arg(args, "delai", *SLA_RANGE)
        if sla is None:
            errors.append(_("Le délai promis doit être un nombre entier d'heures entre %(a)s et %(b)s.",
                            a=SLA_RANGE[0], b=SLA_RANGE[1]))
        elif sla == sla_hours:
            sla = None
    change = outlook_service.WhatIf(agents, sla)
    return None if change.empty else change


@bp.get("/pilotage/previsions")
@roles_required(SUPERVISES)
def forecast():
    now = utcnow()
    errors: list[str] = []
    base = outlook_service.current(now)
    scenario = base.scenario
    codes = [load.unit for load in scenario.units]
    if locked_to_own_unit(current_user.role):
        own = current_user.unit.code if current_user.unit else None
        shown = [code for code in codes if code == own]
    else:
        shown = codes
    change = _read_what_if(request.args, shown, scenario.rules.sla_hours, errors)
    result = outlook_service.forecast(now, change)
    start = scenario.start
    hours = scenario.hours

    today = format_datetime(now, "yyyy-MM-dd")
    tomorrow = format_datetime(now + timedelta(days=1), "yyyy-MM-dd")

    def hour_label(offset: int, with_day: bool = False) -> str:
        moment = start + timedelta(hours=offset)
        if with_day:
            return format_datetime(moment, "EEE d HH'h'")
        return format_datetime(moment, "HH'h'")

    def slot_label(slot: Slot) -> str:
        moment = start + timedelta(hours=slot.first)
        day = format_datetime(moment, "yyyy-MM-dd")
        named = _("aujourd'hui") if day == today else _("demain") if day == tomorrow \
            else format_datetime(moment, "EEEE d")
        return _("%(day)s de %(a)s à %(b)s", day=named, a=hour_label(slot.first), b=hour_label(slot.last))

    def breaches(projection, code):
        values = projection.breaches.get(code, [])
        return sum(values[:hours]), sum(values[hours:])

    open_share = {code: open_share_per_hour(scenario.unit(code), start, hours) for code in shown}
    rows = []
    for offset in range(hours):
        cells = []
        for code in shown:
            load = scenario.unit(code)
            planned = (load.agents[offset] if offset < len(load.agents) else 0.0) * open_share[code][offset]
            cells.append({"arrivals": load.arrivals[offset], "agents": planned,
                          "breaches": result.projection.breaches[code][offset]})
        rows.append({"label": hour_label(offset, with_day=offset and (start + timedelta(hours=offset)).hour == 0),
                     "cells": cells})
    units = []
    for code in shown:
        load = scenario.unit(code)
        within, later = breaches(result.projection, code)
        units.append({
            "code": code, "name": base.names[code], "staffed": base.staffed[code],
            "waiting": sum(item.count for item in load.backlog),
            "arrivals": sum(load.arrivals[:hours]),
            "breaches": within, "later": later,
            "already_late": result.projection.already_late.get(code, 0),
            "full": [(slot, slot_label(slot)) for slot in grouped(result.full.staffing_slots().get(code, []))],
            "most": [(slot, slot_label(slot)) for slot in grouped(result.most.staffing_slots().get(code, []))],
            "what_if": breaches(result.what_if, code) if result.what_if else None,
            "change": change.agents.get(code, 0) if change else 0,
        })
    totals = {
        "breaches": sum(u["breaches"] for u in units), "later": sum(u["later"] for u in units),
        "waiting": sum(u["waiting"] for u in units), "arrivals": sum(u["arrivals"] for u in units),
        "already_late": sum(u["already_late"] for u in units),
        "full": sum(slot.agents * (slot.last - slot.first) for u in units for slot, _label in u["full"]),
        "most": sum(slot.agents * (slot.last - slot.first) for u in units for slot, _label in u["most"]),
    }
    if result.what_if:
        totals["what_if"] = sum(sum(u["what_if"]) for u in units)
    return render_template(
        "manager/forecast.html", units=units, rows=rows, totals=totals, change=change, errors=errors,
        read_at=base.read_at, promise_hours=scenario.rules.sla_hours, args=request.args, hours=hours,
        unavoidable=result.projection.unavoidable, agent_change=AGENT_CHANGE, sla_range=SLA_RANGE,
        agents_words=lambda n: ngettext("%(num)s agent", "%(num)s agents", n))

