"""The discrete-event simulator (pure, simpy): a scenario replayed request by request."""
import statistics
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from chamber_callback import simulation
from chamber_callback.domain.escalation import parse_levels
from chamber_callback.domain.eta import CallStats
from chamber_callback.domain.forecast import project
from chamber_callback.domain.scenario import Backlog, Rules, Scenario, UnitLoad
from chamber_callback.domain.sla import BusinessCalendar
from chamber_callback.simulation import simulate, simulate_many

PARIS = ZoneInfo("Europe/Paris")
CALENDAR = BusinessCalendar(PARIS)  # Monday–Saturday 08:00–21:00 Paris time
START = datetime(2026, 3, 10, 12, tzinfo=UTC)  # a Tuesday, 13:00 in Paris
H = timedelta(hours=1)
ONE_CALL = CallStats(call_minutes=8, attempts_per_request=1.0)


def one_unit(backlog=(), agents=8.0, arrivals=(), stats=ONE_CALL, rules=None, hours=6, start=START, **load):
    unit = UnitLoad("u", arrivals=arrivals, agents=(agents,), stats=stats, backlog=tuple(backlog), **load)
    return Scenario(start, (unit,), rules=rules or Rules(), hours=hours)


def backlog(count, due=3 * H):
    return [Backlog("u", START - 5 * H, START + due, count=count)]


def test_a_seed_gives_the_same_run_and_another_seed_another_one():
    scenario = one_unit(backlog(100), agents=4.0, arrivals=(10.0,) * 6, stats=CallStats(8, 1.3))
    first = simulate(scenario, seed=7)
    assert simulate(scenario, seed=7) == first
    other = simulate(scenario, seed=8)
    assert other != first
    assert other.waits != first.waits


def test_a_backlog_with_ample_agents_is_all_called_in_time():
    result = simulate(one_unit(backlog(150), agents=20.0, stats=CallStats(8, 1.3)), seed=1)
    assert result.requests == 150
    assert len(result.waits) == 150  # a first call each
    assert result.total_breaches == 0
    assert result.calls >= 150
    assert result.reached + result.unreachable == 150  # all done within the horizon
    assert result.already_late == 0


def test_without_agents_every_request_due_after_the_start_breaches():
    late = Backlog("u", START - 30 * H, START - H, count=4)
    scenario = one_unit([late, *backlog(25)], agents=0.0, arrivals=(10.0,) * 6)
    result = simulate(scenario, seed=3)
    assert result.already_late == 4
    assert result.requests > 29  # some arrived (Poisson, 60 expected)
    assert result.total_breaches == result.requests - 4
    assert result.breaches["u"][3] == 25  # the backlog, in the hour of its deadline
    assert result.waits == []
    assert result.calls == 0
    assert result.p50_wait is None


def test_always_answered_one_call_each():
    result = simulate(one_unit(backlog(80), agents=10.0, arrivals=(10.0,) * 3), seed=2, answer_rate=1.0)
    assert result.calls == result.requests == result.reached
    assert result.unreachable == 0


def test_never_answered_every_attempt_is_made_then_unreachable():
    scenario = one_unit(backlog(60), agents=10.0, rules=Rules(max_attempts=3))
    result = simulate(scenario, seed=2, answer_rate=0.0)
    assert result.requests == 60
    assert result.calls == 3 * 60
    assert result.unreachable == 60
    assert result.reached == 0


def test_the_default_answer_rate_follows_the_units_attempts_per_request():
    result = simulate(one_unit(backlog(80), agents=10.0, stats=ONE_CALL), seed=4)
    assert result.calls == result.reached == 80  # 1.0 attempt per request: always answered


def test_occupancy_is_the_share_of_presence_spent_in_calls():
    light = simulate(one_unit(backlog(200), agents=8.0), seed=5)
    # 8 agents present for the whole horizon (24 h of SLA + 6 h of arrivals + 6 h of drain) and
    # about 200 calls of 8 minutes: 1600 / 17280. Tolerance: the sum of 200 log-normal durations
    # (coefficient of variation 0.8) varies by about 6 %.
    assert light.present_minutes["u"] == pytest.approx(8 * 36 * 60)
    assert light.occupancy("u") == pytest.approx(1600 / 17280, rel=0.2)
    busy = simulate(one_unit(backlog(400), agents=1.0), seed=5)  # 3200 minutes of work, 2160 present
    assert 0.97 < busy.occupancy("u") <= 1.0  # only the call cut by the end of the run is missing


def test_with_a_calendar_no_call_starts_outside_the_opening_hours(monkeypatch):
    starts = []
    original = simulation._Simulation.call

    def spy(self, request, unit):
        starts.append(self.instant(self.env.now))
        original(self, request, unit)

    monkeypatch.setattr(simulation._Simulation, "call", spy)
    evening = datetime(2026, 3, 10, 16, tzinfo=UTC)  # Tuesday 17:00 in Paris, 4 hours before closing
    # 30 an hour for 4 hours against 2 agents (15 calls an hour): what is left waits for the morning.
    result = simulate(one_unit(agents=2.0, arrivals=(30.0,) * 4, stats=CallStats(8, 1.3), calendar=CALENDAR,
                               hours=4, start=evening), seed=6)
    assert len(starts) == result.calls > 0
    opening = list(islice(CALENDAR.open_intervals(evening), 4))
    assert all(any(begin <= moment < end for begin, end in opening) for moment in starts)
    next_morning = datetime(2026, 3, 11, 7, tzinfo=UTC)
    assert any(moment >= next_morning for moment in starts)
    assert not any(datetime(2026, 3, 10, 20, tzinfo=UTC) <= moment < next_morning for moment in starts)


def test_a_backlog_waiting_at_night_is_first_called_at_opening():
    night = datetime(2026, 3, 10, 2, tzinfo=UTC)  # Tuesday 03:00 in Paris; opening at 07:00 UTC
    items = [Backlog("u", night, night + 10 * H, count=40)]
    result = simulate(one_unit(items, agents=8.0, calendar=CALENDAR, start=night), seed=1)
    assert len(result.waits) == 40
    assert min(result.waits) == pytest.approx(5 * 60)  # the first calls at 07:00 UTC sharp
    assert result.total_breaches == 0


def test_urgent_requests_are_called_first_in_the_simulation_too():
    items = [Backlog("u", START - 5 * H, START + 2 * H, count=100),
             Backlog("u", START - 5 * H, START + 3 * H, urgent=True, count=100)]
    result = simulate(one_unit(items), seed=1)
    assert result.breaches["u"][3] == 0  # the urgent cohort, though due later
    assert result.breaches["u"][2] > 50  # the forecast says 72


def test_an_unstaffed_units_requests_overflow_to_the_others():
    idle = UnitLoad("a", (), (0.0,), stats=ONE_CALL, backlog=(Backlog("a", START, START + 6 * H, count=50),))
    spare = UnitLoad("b", (), (4.0,), stats=ONE_CALL)
    scenario = Scenario(START, (idle, spare), hours=6)
    assert simulate(scenario, seed=1).total_breaches == 0
    kept = replace(scenario, rules=Rules(overflow_after=timedelta(days=30), levels=parse_levels("half@50:raise")))
    result = simulate(kept, seed=1)
    assert result.total_breaches == 50
    assert result.breaches["a"][6] == 50


def test_callback_windows_are_judged_when_recomputed():
    scenario = one_unit(agents=3.0, arrivals=(20.0,) * 6, stats=CallStats(8, 1.3))
    result = simulate(scenario, seed=1, eta_every=15)
    assert result.windows_judged > 0
    assert 0 <= result.inside_share <= 1
    assert result.median_width > 0
    assert result.windows_judged + result.no_window == len(result.waits)  # every first call, once
    assert 0 <= result.windows_inside <= result.windows_judged
    plain = simulate(scenario, seed=1)
    assert plain.windows_judged == 0
    assert plain.inside_share is None
    assert plain.median_width is None


def test_simulate_many_runs_the_following_seeds():
    scenario = one_unit(backlog(40), agents=4.0, arrivals=(5.0,) * 2, stats=CallStats(8, 1.3), hours=2)
    runs = simulate_many(scenario, runs=5, seed=10)
    assert len(runs) == 5
    assert runs == [simulate(scenario, seed=seed) for seed in range(10, 15)]


def test_the_simulation_agrees_with_the_forecast_on_a_loaded_backlog():
    scenario = one_unit(backlog(200), agents=8.0, stats=CallStats(8, 1.3, 0.8))
    expected = project(scenario).total_breaches  # about 47
    mean = statistics.mean(run.total_breaches for run in simulate_many(scenario, runs=10, seed=0))
    # One run varies by about a quarter (33 to 65 over these seeds): the mean of 10 is held within
    # 25 % here; the bench, with more runs, holds the tighter bound.
    assert mean == pytest.approx(expected, rel=0.25)


def test_part_time_agents_call_in_the_simulation_as_in_the_forecast():
    # Half an agent every hour (an agent there half of each hour, as services.forecast.agents_per_hour
    # gives for half-hour shifts): 20 hours × 30 minutes / 8 minutes = 75 calls for 20 requests.
    scenario = one_unit(backlog(20, due=20 * H), agents=0.5)
    assert project(scenario).total_breaches == 0
    assert simulate(scenario, seed=1).total_breaches == 0
