"""Callback windows and the 24-hour forecast: their cost against the bare read of the queue, and
how well the forecast and the windows hold against the simulator.

    .venv/bin/python bench/eta.py                 # SQLite, 10,000 waiting requests, 40 agents
    .venv/bin/python bench/eta.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chamber_bench
    .venv/bin/python bench/eta.py --skip-database --sim-runs 20      # only the model against the simulator

Part 1 (database): 10,000 waiting requests over the five units, 40 agents present, four weeks of
closed requests as history. Measured, median of --runs: the bare SELECT of every unit's waiting
requests in queue order (the baseline), the periodic recompute of every window (first pass, which
writes them all, and a steady pass, which writes only those that moved), the forecast read from
the database and projected (base, 100 % and 95 % staffing), and a what-if on it.

Part 2 (model): synthetic crisis days replayed by the simulator --sim-runs times; the forecast's
breaches against the simulated mean, and the share of first calls inside their window.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="cc-bench-"))

from _schema import fresh_schema, insert_requests
from sqlalchemy import func, insert, select, update

from chamber_callback import create_app
from chamber_callback.domain.eta import CallStats
from chamber_callback.domain.forecast import project
from chamber_callback.domain.scenario import Backlog, Rules, Scenario, UnitLoad
from chamber_callback.domain.sla import BusinessCalendar
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, RegionalUnit, StaffUser
from chamber_callback.services import eta as eta_service
from chamber_callback.services import forecast as forecast_service
from chamber_callback.services.queue import queue_order
from chamber_callback.simulation import simulate, simulate_many

WAITING = 10_000
AGENTS = 40
HISTORY_PER_HOUR = 12
CHUNK = 20_000


def build(now: datetime) -> None:
    fresh_schema()
    units = db.session.scalars(select(RegionalUnit.id).order_by(RegionalUnit.id)).all()
    db.session.execute(insert(StaffUser), [
        {"email": f"agent{i}@bench.invalid", "name": f"Agent {i}", "role": "agent", "password_hash": "!",
         "unit_id": units[i % len(units)], "availability": "available", "capacity": 1, "active": True,
         "availability_since": now, "created_at": now} for i in range(AGENTS)])
    common = {"name": "Synthetic", "business_name": "Synthetic", "sector": "services", "postal_code": "75011",
              "departement_code": "75", "topic_id": 1, "description": "synthetic row", "channel": "api",
              "consent_at": now, "failed_attempts": 0, "priority": 0}
    rows, number = [], 0
    hours = 4 * 7 * 24
    for hour in range(1, hours + 1):  # four weeks of closed requests: the arrivals' history
        for k in range(HISTORY_PER_HOUR):
            submitted = now - timedelta(hours=hour, minutes=k * 60 // HISTORY_PER_HOUR)
            rows.append({**common, "status": "completed", "unit_id": units[number % len(units)],
                         "urgent": number % 5 == 0, "submitted_at": submitted, "queued_at": submitted,
                         "sla_deadline": submitted + timedelta(hours=24), "closed_at": submitted + timedelta(hours=2),
                         "reference": f"{number:09d}", "token_digest": f"{number:064x}", "phone": f"+3319{number:08d}"})
            number += 1
    for i in range(WAITING):  # the queue: submitted over the last 20 hours
        submitted = now - timedelta(minutes=(i * 7) % 1200)
        rows.append({**common, "status": "queued", "unit_id": units[i % len(units)], "urgent": i % 5 == 0,
                     "submitted_at": submitted, "queued_at": submitted, "sla_deadline": submitted + timedelta(hours=24),
                     "reference": f"{number:09d}", "token_digest": f"{number:064x}", "phone": f"+3319{number:08d}"})
        number += 1
    insert_requests(rows)


def timed(action, runs: int, before=None) -> list[float]:
    times = []
    for _ in range(runs):
        if before:
            before()
        db.session.expunge_all()
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
        db.session.rollback()
    return times


def bare_select() -> None:
    total = 0
    for unit_id in db.session.scalars(select(RegionalUnit.id)).all():
        total += len(db.session.execute(select(*eta_service.COLUMNS).where(
            CallbackRequest.unit_id == unit_id, CallbackRequest.status.in_(eta_service.ESTIMATED))
            .order_by(*queue_order())).all())
    assert total == WAITING, total


def clear_windows() -> None:
    db.session.execute(update(CallbackRequest).values(eta_from=None, eta_to=None, eta_reason=None))
    db.session.commit()


def database_part(args) -> None:
    data_dir = ROOT / "bench" / ".data"
    data_dir.mkdir(exist_ok=True)
    url = args.database or f"sqlite:///{data_dir / 'eta.sqlite3'}"
    app = create_app({"DATABASE_URL": url, "REDIS_URL": "redis://127.0.0.1:1/0", "FORECAST_CACHE_SECONDS": 0})
    now = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Paris
    with app.app_context():
        import logging

        logging.getLogger("chamber_callback").setLevel(logging.WARNING)
        started = time.perf_counter()
        build(now)
        print(f"built {WAITING:,} waiting requests, {AGENTS} agents and "
              f"{db.session.scalar(select(func.count()).select_from(CallbackRequest)) - WAITING:,} closed ones "
              f"in {time.perf_counter() - started:.1f} s")
        baseline = timed(bare_select, args.runs)
        first = timed(lambda: eta_service.recompute(now), args.runs, before=clear_windows)
        eta_service.recompute(now)
        steady = timed(lambda: eta_service.recompute(now), args.runs)
        full = timed(lambda: forecast_service.forecast(now), args.runs)
        app.config["FORECAST_CACHE_SECONDS"] = 3600
        forecast_service.forecast(now)
        change = forecast_service.WhatIf({"ouest": 5, "est": -2}, 12)
        what_if = timed(lambda: forecast_service.forecast(now, change), args.runs)
        outlook = forecast_service.current(now)
        project_only = timed(lambda: project(outlook.scenario), args.runs)
        backend = db.engine.dialect.name

    def ms(values):
        return statistics.median(values) * 1000

    base = ms(baseline)
    print(f"{backend}: {WAITING:,} waiting requests, {AGENTS} agents, median of {args.runs} runs")
    for label, values in (("bare SELECT of the queues (baseline)", baseline),
                          ("recompute, first pass (writes every window)", first),
                          ("recompute, steady pass (writes what moved)", steady),
                          ("forecast from the database (3 projections)", full),
                          ("what-if on the shared scenario (4 projections)", what_if),
                          ("one projection", project_only)):
        print(f"  {label:<48}: {ms(values):8.1f} ms  ({ms(values) / base:5.1f}× baseline)")


def crisis_scenario(start: datetime, per_day: float, agents: int) -> Scenario:
    """Five units, opening hours 08:00–21:00 in Paris, arrivals weighted to the day, a backlog."""
    calendar = BusinessCalendar(tz=ZoneInfo("Europe/Paris"))
    profile = [0.2] * 7 + [1.6] * 12 + [0.8] * 5  # from 08:00 local (07:00 UTC): a day's shape, sums to 24
    units = []
    for index, code in enumerate(("idf", "est", "ouest", "sud-est", "sud-ouest")):
        share = (0.3, 0.15, 0.2, 0.2, 0.15)[index]
        arrivals = tuple(per_day * share * weight / 24 for weight in profile)
        backlog = tuple(Backlog(code, start - timedelta(hours=h), start + timedelta(hours=24 - h),
                                urgent=h % 5 == 0, count=per_day * share / 24 * 0.8) for h in range(1, 20))
        units.append(UnitLoad(code, arrivals, (round(agents * share),), calendar, CallStats(8, 1.3, 0.8), 0.2,
                              backlog))
    return Scenario(start, tuple(units), Rules(), 24)


def model_part(args) -> None:
    start = datetime(2026, 12, 7, 7, tzinfo=UTC)  # a Monday, 08:00 in Paris
    print(f"forecast against the simulator ({args.sim_runs} runs each)")
    print(f"  {'scenario':<34}{'requests':>9}{'forecast':>10}{'simulated':>11}{'(min–max)':>14}{'ratio':>7}"
          f"{'forecast':>10}{'simulate':>10}")
    for label, per_day, agents in (("calm: 2,000 a day, 40 agents", 2000, 40),
                                   ("tight: 3,200 a day, 40 agents", 3200, 40),
                                   ("knee: 3,900 a day, 40 agents", 3900, 40),
                                   ("over: 4,500 a day, 40 agents", 4500, 40),
                                   ("crisis: 20,000 a day, 120 agents", 20000, 120)):
        scenario = crisis_scenario(start, per_day, agents)
        started = time.perf_counter()
        projection = project(scenario)
        projected_in = time.perf_counter() - started
        started = time.perf_counter()
        results = simulate_many(scenario, args.sim_runs, seed=1)
        simulated_in = (time.perf_counter() - started) / args.sim_runs
        breaches = [r.total_breaches for r in results]
        mean = statistics.mean(breaches)
        ratio = projection.total_breaches / mean if mean else float("nan")
        print(f"  {label:<34}{statistics.mean(r.requests for r in results):>9.0f}{projection.total_breaches:>10.0f}"
              f"{mean:>11.0f}{f'({min(breaches)}–{max(breaches)})':>14}{ratio:>7.2f}"
              f"{projected_in * 1000:>8.0f}ms{simulated_in:>9.1f}s")
    print("callback windows in the simulator (windows told at submission, recomputed every 5 minutes)")
    for label, per_day, agents in (("calm: 2,000 a day, 40 agents", 2000, 40),
                                   ("tight: 3,200 a day, 40 agents", 3200, 40),
                                   ("over: 4,500 a day, 40 agents", 4500, 40)):
        result = simulate(crisis_scenario(start, per_day, agents), seed=2, eta_every=5)
        print(f"  {label:<34}: {result.inside_share:.0%} of {result.windows_judged:,} first calls inside their "
              f"window, median width {result.median_width:.0f} min")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file under bench/.data)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sim-runs", type=int, default=20)
    parser.add_argument("--skip-database", action="store_true")
    parser.add_argument("--skip-model", action="store_true")
    args = parser.parse_args()
    if not args.skip_database:
        database_part(args)
    if not args.skip_model:
        model_part(args)


if __name__ == "__main__":
    main()
