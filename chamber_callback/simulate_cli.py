"""``flask simulate``: what a surge would do with a given staffing, replayed request by request.

It starts from the chamber as it is (what waits, the roster, the forecast arrivals) and changes
what the options say: ``--arrivals 20000`` requests a day (shared like the forecast's), ``--agents
est=8,ouest=6`` agents every open hour, ``--sla 48``. It prints, per unit, the breaches over the
runs next to the forecast's figure, the waits before the first call and the agents' occupancy;
with ``--calibration``, how many first calls started inside their announced window.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import replace

import click
from flask_babel import format_datetime

from .clock import utcnow
from .domain.forecast import project
from .domain.scenario import Scenario, UnitLoad
from .simulation import SimulationResult, percentile, simulate_many

CALIBRATION_EVERY_MINUTES = 5.0
RATE = re.compile(r"\s*([0-9]{1,7})\s*(?:/\s*(day|d|jour|j|hour|h|heure))?\s*", re.IGNORECASE)
PER_HOUR = {"hour", "h", "heure"}


class Rate(click.ParamType):
    """Requests a day: ``20000``, ``20000/day`` (``/jour``), or an hourly rate, ``800/h``."""

    name = "N[/day|/h]"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        match = RATE.fullmatch(value)
        if not match:
            self.fail(f"{value!r}: expected a number of requests a day (20000 or 20000/day) or an hour (800/h)",
                      param, ctx)
        number = int(match.group(1))
        return number * 24 if (match.group(2) or "").lower() in PER_HOUR else number


def parse_agents(spec: str | None, codes: list[str]) -> dict[str, int]:
    """``est=8,ouest=6`` → {"est": 8, "ouest": 6}; unknown units and bad numbers are refused."""
    agents: dict[str, int] = {}
    for part in filter(None, (chunk.strip() for chunk in (spec or "").split(","))):
        code, sep, number = part.partition("=")
        code = code.strip()
        if not sep or not number.strip().isascii() or not number.strip().isdigit():
            raise click.BadParameter(f"{part!r}: expected unit=agents, e.g. est=8", param_hint="--agents")
        if code not in codes:
            raise click.BadParameter(f"unknown unit {code!r} (units: {', '.join(codes)})", param_hint="--agents")
        agents[code] = int(number)
    return agents


def shape(scenario: Scenario, per_day: int | None, agents: dict[str, int], hours: int) -> Scenario:
    """The chamber's scenario with the options applied: arrivals shared between units and hours
    like the forecast's (evenly when it expects none), fixed agents where given."""
    day = 24
    forecast_total = sum(sum(load.arrivals[:day]) for load in scenario.units)
    units = []
    for load in scenario.units:
        profile = [load.arrivals[k % day] if k % day < len(load.arrivals) else 0.0 for k in range(hours)]
        if per_day is not None:
            if forecast_total > 0:
                profile = [value * per_day / forecast_total for value in profile]
            else:
                profile = [per_day / len(scenario.units) / day] * hours
        new = replace(load, arrivals=tuple(profile))
        if load.unit in agents:
            new = replace(new, agents=(float(agents[load.unit]),))
        units.append(new)
    return replace(scenario, units=tuple(units), hours=hours)


def _range(values: list[float]) -> str:
    return f"{statistics.mean(values):.0f} ({min(values):.0f}–{max(values):.0f})"


def _minutes(value: float | None) -> str:
    if value is None:
        return "—"
    hours, minutes = divmod(round(value), 60)
    return f"{hours} h {minutes:02d}" if hours else f"{minutes} min"


def _agents_label(load: UnitLoad, hours: int) -> str:
    values = load.agents[:hours] or (0.0,)
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def report(scenario: Scenario, results: list[SimulationResult], names: dict[str, str], tz) -> list[str]:
    projection = project(scenario)
    heading = (f"From {format_datetime(scenario.start, 'EEE d MMM HH:mm', rebase=True)} ({tz}), "
               f"{scenario.hours} h of arrivals, SLA {scenario.rules.sla_hours:g} h, {len(results)} run(s).")
    columns = (f"{'unit':<16}{'waiting':>8}{'arriving':>10}{'agents':>8}{'breaches':>18}{'forecast':>10}"
               f"{'1st call p50':>14}{'p90':>10}{'occupancy':>11}")
    lines = [heading, "", columns]
    for load in scenario.units:
        code = load.unit
        breaches = [sum(r.breaches[code]) for r in results]
        occupancy = [value for r in results if (value := r.occupancy(code)) is not None]
        p50 = [v for r in results if (v := percentile(r.unit_waits[code], 0.5)) is not None]
        p90 = [v for r in results if (v := percentile(r.unit_waits[code], 0.9)) is not None]
        lines.append(
            f"{code[:15]:<16}{sum(item.count for item in load.backlog):>8.0f}{sum(load.arrivals):>10.0f}"
            f"{_agents_label(load, scenario.hours):>8}{_range(breaches):>18}{sum(projection.breaches[code]):>10.0f}"
            f"{_minutes(statistics.mean(p50) if p50 else None):>14}"
            f"{_minutes(statistics.mean(p90) if p90 else None):>10}"
            f"{(f'{statistics.mean(occupancy):.0%}' if occupancy else '—'):>11}")
    totals = [r.total_breaches for r in results]
    waits50 = [r.p50_wait for r in results if r.p50_wait is not None]
    waits90 = [r.p90_wait for r in results if r.p90_wait is not None]
    lines.append(f"{'all units':<16}{'':>8}{statistics.mean(r.requests for r in results):>10.0f}{'':>8}"
                 f"{_range(totals):>18}{projection.total_breaches:>10.0f}"
                 f"{_minutes(statistics.mean(waits50) if waits50 else None):>14}"
                 f"{_minutes(statistics.mean(waits90) if waits90 else None):>10}")
    late = statistics.mean(r.already_late for r in results)
    if late:
        lines.append(f"Already past their deadline at the start (not counted above): {late:.0f}.")
    lines.append("Breaches: requests first called after their deadline (or never), by the simulation "
                 "(mean, min–max over the runs) and by the forecast of /pilotage/previsions.")
    judged = [r for r in results if r.inside_share is not None]
    if judged:
        inside = statistics.mean(r.inside_share for r in judged)
        widths = [r.median_width for r in judged if r.median_width is not None]
        lines.append(f"Callback windows: {inside:.0%} of first calls started inside the window announced "
                     f"(goal ≥ 80 %); median width {_minutes(statistics.median(widths) if widths else None)} "
                     "(goal ≤ 2 h).")
    for code, name in names.items():
        if not any(scenario.unit(code).agents):
            lines.append(f"{code}: nobody present or planned ({name}): give --agents {code}=N to try a staffing.")
    return lines


@click.command("simulate")
@click.option("--arrivals", "per_day", type=Rate(),
              help="Requests across the chamber: 20000/day, or 800/h (default: the forecast's).")
@click.option("--agents", "agents_spec", help="Agents calling in every open hour, per unit: est=8,ouest=6 "
                                              "(default: the roster and the agents present).")
@click.option("--sla", "sla_hours", type=click.FloatRange(1, 168), help="The promised delay in hours.")
@click.option("--hours", default=24, show_default=True, type=click.IntRange(1, 168), help="Hours of arrivals.")
@click.option("--runs", default=5, show_default=True, type=click.IntRange(1, 200))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--answer-rate", type=click.FloatRange(0, 1),
              help="Each call's chance to reach the artisan (default: from the recent attempts per request).")
@click.option("--calibration", is_flag=True, help="Also recompute the callback windows every 5 minutes and "
                                                  "check each first call against its window (slower).")
def simulate_command(per_day, agents_spec, sla_hours, hours, runs, seed, answer_rate, calibration):
    """Replay a surge request by request with the product's rules, from the chamber as it is now."""
    from flask import current_app

    from .services import forecast as forecast_service

    outlook = forecast_service.build(utcnow())
    scenario = outlook.scenario
    agents = parse_agents(agents_spec, [load.unit for load in scenario.units])
    scenario = shape(scenario, per_day, agents, hours)
    if sla_hours is not None:
        scenario = scenario.with_sla(sla_hours)
    results = simulate_many(scenario, runs, seed=seed, answer_rate=answer_rate,
                            eta_every=CALIBRATION_EVERY_MINUTES if calibration else None)
    for line in report(scenario, results, outlook.names, current_app.config["TIMEZONE"]):
        click.echo(line)
