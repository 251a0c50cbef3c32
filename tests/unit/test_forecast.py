"""The load scenario and the 24-hour outlook (pure): expected arrivals, the fluid projection of
breaches, and the staffing that prevents them."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from chamber_callback.domain.escalation import parse_levels
from chamber_callback.domain.eta import CallStats
from chamber_callback.domain.forecast import expected_arrivals, project
from chamber_callback.domain.scenario import Backlog, Rules, Scenario, UnitLoad, answer_rate_for, expected_attempts
from chamber_callback.domain.sla import BusinessCalendar, sla_deadline

PARIS = ZoneInfo("Europe/Paris")
CALENDAR = BusinessCalendar(PARIS)  # Monday–Saturday 08:00–21:00 Paris time
START = datetime(2026, 3, 10, 12, tzinfo=UTC)  # a Tuesday, 13:00 in Paris
H = timedelta(hours=1)
ONE_CALL = CallStats(call_minutes=8, attempts_per_request=1.0)  # every request reached at the first call


def one_unit(backlog=(), agents=8.0, arrivals=(), stats=ONE_CALL, rules=None, hours=6, **load):
    unit = UnitLoad("u", arrivals=arrivals, agents=(agents,), stats=stats, backlog=tuple(backlog), **load)
    return Scenario(START, (unit,), rules=rules or Rules(), hours=hours)


def with_slots(scenario, projection):
    """The scenario with the whole extra agents of ``staffing_slots()`` added to their hours (the
    last planned value repeats after the tuple, so the tuple ends with the planned value again)."""
    slots = projection.staffing_slots()
    units = []
    for load in scenario.units:
        added = dict(slots.get(load.unit, []))
        length = max([len(load.agents), *(hour + 2 for hour in added)])
        planned = [load.agents[min(hour, len(load.agents) - 1)] for hour in range(length)]
        units.append(replace(load, agents=tuple(n + added.get(hour, 0) for hour, n in enumerate(planned))))
    return replace(scenario, units=tuple(units))


# --- scenario.py ----------------------------------------------------------------------------------

def test_expected_attempts_sum_the_chances_of_being_tried_again_up_to_the_last_attempt():
    assert expected_attempts(1.0, 3) == 1.0
    assert expected_attempts(0.5, 3) == 1 + 0.5 + 0.25
    assert expected_attempts(0.0, 3) == 3.0  # never answered: every attempt is made
    assert expected_attempts(0.5, 1) == 1.0


def test_the_answer_rate_gives_back_the_units_attempts_per_request():
    assert answer_rate_for(CallStats(attempts_per_request=1.0), 3) == 1.0
    assert answer_rate_for(CallStats(attempts_per_request=0.9), 3) == 1.0
    assert answer_rate_for(CallStats(attempts_per_request=3.0), 3) == 0.0
    assert answer_rate_for(CallStats(attempts_per_request=4.0), 3) == 0.0
    rate = answer_rate_for(CallStats(attempts_per_request=1.3), 3)
    assert 0 < rate < 1
    assert expected_attempts(rate, 3) == pytest.approx(1.3, abs=1e-9)


def test_with_agents_adds_to_every_hour_never_below_zero_and_leaves_other_units_alone():
    u = UnitLoad("u", arrivals=(5.0,), agents=(2.0, 3.0, 0.0))
    v = UnitLoad("v", arrivals=(5.0,), agents=(1.0, 1.0))
    scenario = Scenario(START, (u, v))
    more = scenario.with_agents({"u": 2})
    assert more.unit("u").agents == (4.0, 5.0, 2.0)
    assert more.unit("v") is v
    assert more.unit("u").arrivals == u.arrivals
    assert scenario.with_agents({"u": -3}).unit("u").agents == (0.0, 0.0, 0.0)
    assert scenario.with_agents({"u": 0, "elsewhere": 4}).units == scenario.units
    assert scenario.unit("u").agents == (2.0, 3.0, 0.0)  # the scenario itself is unchanged


def test_with_sla_moves_the_backlog_deadlines_on_the_units_clock():
    submitted = datetime(2026, 3, 10, 19, tzinfo=UTC)  # Tuesday 20:00 in Paris, an hour before closing
    item = Backlog("u", submitted, submitted + 24 * H, count=3)
    with_calendar = UnitLoad("u", (), (1.0,), calendar=CALENDAR, backlog=(item,))
    always_open = UnitLoad("v", (), (1.0,), backlog=(replace(item, unit="v"),))
    scenario = Scenario(START, (with_calendar, always_open), rules=Rules(business_clock=True))

    moved = scenario.with_sla(4)
    assert moved.rules.sla_hours == 4
    assert moved.rules.business_clock is True
    # 20:00–21:00 on Tuesday, then 3 open hours from 08:00 on Wednesday: 11:00 Paris = 10:00 UTC.
    assert moved.unit("u").backlog[0].deadline == datetime(2026, 3, 11, 10, tzinfo=UTC)
    assert moved.unit("u").backlog[0].deadline == sla_deadline(submitted, 4, calendar=CALENDAR)
    assert moved.unit("v").backlog[0].deadline == submitted + 4 * H  # no calendar: real hours
    assert moved.unit("u").backlog[0].count == 3

    real_hours = replace(scenario, rules=Rules(business_clock=False)).with_sla(4)
    assert real_hours.unit("u").backlog[0].deadline == submitted + 4 * H


def test_top_and_overflow_shares_come_from_the_levels():
    assert Rules().top_share == 1.0  # default: top priority and overflow at the breach
    assert Rules().overflow_share == 1.0
    custom = Rules(levels=parse_levels("a@40:top,overflow"))
    assert custom.top_share == pytest.approx(0.4)
    assert custom.overflow_share == pytest.approx(0.4)
    raise_only = Rules(levels=parse_levels("half@50:raise"))
    assert raise_only.top_share is None
    assert raise_only.overflow_share is None


# --- expected_arrivals ----------------------------------------------------------------------------

def flat_history(per_hour=10, days=29, recent=None):
    """``per_hour`` in every UTC hour of the ``days`` before START; ``recent``: the last 3 hours."""
    history = {START - k * H: per_hour for k in range(1, days * 24 + 1)}
    if recent is not None:
        history.update({START - k * H: recent for k in (1, 2, 3)})
    return history


def test_without_history_the_recent_rate_is_repeated():
    recent = {START - H: 12, START - 2 * H: 9, START - 3 * H: 6}  # 27 in 3 hours: 9 an hour
    assert expected_arrivals(recent, START, 4, PARIS, since=START - 3 * H) == (9.0,) * 4
    assert expected_arrivals(recent, START, 4, PARIS, since=None) == (9.0,) * 4
    assert expected_arrivals({}, START, 2, PARIS, since=None) == (0.0, 0.0)


def test_a_flat_history_and_a_usual_day_give_the_usual_rate():
    history = flat_history(10)
    # Trend factor (30 + 1) / (30 + 1) = 1: the weeks' mean, 10 an hour.
    assert expected_arrivals(history, START, 6, PARIS, since=START - 30 * 24 * H) == pytest.approx((10.0,) * 6)


def test_a_surge_in_the_last_hours_multiplies_the_usual_rate():
    history = flat_history(10, recent=30)  # 3 × the usual in the last 3 hours
    factor = (90 + 1) / (30 + 1)  # (observed + 1) / (expected + 1)
    ahead = expected_arrivals(history, START, 6, PARIS, since=START - 30 * 24 * H)
    assert ahead == pytest.approx((10 * factor,) * 6)
    assert ahead[0] == pytest.approx(29.354838709677)


def test_the_trend_factor_is_clamped():
    since = START - 30 * 24 * H
    quiet = expected_arrivals(flat_history(10, recent=0), START, 2, PARIS, since=since)
    assert quiet == pytest.approx((10 * 0.2,) * 2)  # 1/31 is below the 0.2 floor
    crisis = expected_arrivals(flat_history(10, recent=1000), START, 2, PARIS, since=since)
    assert crisis == pytest.approx((10 * 25.0,) * 2)  # 3001/31 is above the 25 ceiling


def test_weeks_before_the_history_began_do_not_count():
    history = flat_history(10, recent=20)
    # The history began 6 days ago: no week before counts, the recent rate (20) is repeated.
    assert expected_arrivals(history, START, 3, PARIS, since=START - 6 * 24 * H) == (20.0,) * 3
    # Began 15 days ago: only the last 2 weeks count, averaged over those (not as quiet weeks).
    two_weeks = {hour: n for hour, n in history.items() if hour >= START - 15 * 24 * H}
    expected = 10 * (60 + 1) / (30 + 1)
    assert expected_arrivals(two_weeks, START, 3, PARIS, since=START - 15 * 24 * H) == pytest.approx(
        (expected,) * 3)


def test_the_same_local_hour_a_week_before_across_the_end_of_daylight_saving_time():
    start = datetime(2026, 10, 30, 9, tzinfo=UTC)  # Friday 10:00 in Paris (CET, after 25 October)
    history = {
        # A week before, Friday 23 October, still CEST (UTC+2): 07:00–09:00 Paris = 05:00–07:00 UTC.
        datetime(2026, 10, 23, 5, tzinfo=UTC): 10,
        datetime(2026, 10, 23, 6, tzinfo=UTC): 10,
        datetime(2026, 10, 23, 7, tzinfo=UTC): 10,
        datetime(2026, 10, 23, 8, tzinfo=UTC): 40,  # 10:00 Paris that day: the hour to use
        datetime(2026, 10, 23, 9, tzinfo=UTC): 7,  # 11:00 Paris: the same UTC hour, not the same local one
        # The last 3 hours as usual: 07:00–09:00 Paris on the 30th = 06:00–08:00 UTC.
        datetime(2026, 10, 30, 6, tzinfo=UTC): 10,
        datetime(2026, 10, 30, 7, tzinfo=UTC): 10,
        datetime(2026, 10, 30, 8, tzinfo=UTC): 10,
    }
    ahead = expected_arrivals(history, start, 2, PARIS, since=datetime(2026, 10, 1, tzinfo=UTC), weeks=1)
    assert ahead == pytest.approx((40.0, 7.0))  # trend factor 31/31


# --- project ----------------------------------------------------------------------------------------

def test_ample_agents_and_always_open_give_no_breach():
    scenario = one_unit(arrivals=(20.0,) * 24, agents=10.0, stats=CallStats(8, 1.3), hours=24)
    projection = project(scenario)
    assert projection.total_breaches == 0
    assert projection.requests == pytest.approx(480)
    assert projection.unavoidable == 0
    assert projection.already_late == {"u": 0.0}


def test_an_overloaded_backlog_breaches_exactly_what_cannot_be_called_by_the_deadline():
    scenario = one_unit([Backlog("u", START - 5 * H, START + 3 * H, count=200)])
    projection = project(scenario)
    # Calls started by the deadline: 8 agents × (180 + 8) minutes / 8 minutes = 188 of the 200.
    assert projection.total_breaches == pytest.approx(12, abs=1e-6)
    assert projection.breaches["u"][3] == pytest.approx(12, abs=1e-6)  # the hour of the deadline
    assert sum(projection.breaches["u"]) - projection.breaches["u"][3] == pytest.approx(0, abs=1e-9)
    assert projection.breaches_within(3) == {"u": 0.0}
    assert projection.breaches_within(4)["u"] == pytest.approx(12, abs=1e-6)
    assert projection.requests == 200
    assert projection.already_late == {"u": 0.0}
    assert projection.unavoidable == 0


def test_already_late_requests_are_counted_apart_and_go_first():
    late = Backlog("u", START - 30 * H, START - H, count=5)
    alone = project(one_unit([late]))
    assert alone.already_late == {"u": 5.0}
    assert alone.total_breaches == 0
    assert alone.unavoidable == 0
    # Past their deadline they have top priority: they take 5 of the 188 calls in time.
    crowded = project(one_unit([late, Backlog("u", START - 5 * H, START + 3 * H, count=200)]))
    assert crowded.already_late == {"u": 5.0}
    assert crowded.total_breaches == pytest.approx(17, abs=1e-6)


def overloaded_arrivals():
    # 60 an hour for 8 hours, 4 agents of 8-minute calls and 1.3 attempts: about 23 requests an hour.
    return one_unit(arrivals=(60.0,) * 8, agents=4.0, stats=CallStats(8, 1.3), rules=Rules(sla_hours=8), hours=8)


def test_the_staffing_plan_removes_the_breaches_and_the_95_percent_plan_costs_less():
    scenario = overloaded_arrivals()
    before = project(scenario)
    assert before.total_breaches > 150
    full = project(scenario, staffing_target=1.0)
    assert full.total_breaches == pytest.approx(0, abs=1e-9)
    assert full.extra_agent_hours > 0
    assert any(value > 0 for value in full.extra_agents["u"])
    # Whole agents per hour slot, planned: the fluid model re-run with them leaves almost none
    # (what remains comes from the hour slots and the retries the plan pays at once).
    after = project(with_slots(scenario, full))
    assert after.total_breaches <= 0.01 * before.total_breaches

    ninety_five = project(scenario, staffing_target=0.95)
    assert ninety_five.extra_agent_hours <= full.extra_agent_hours
    # The first 5 % of the requests are let breach instead of being paid for.
    # The first 5 % are let go; a few of them are still called in time in their deadline's quarter-hour.
    assert 0.04 * before.requests <= ninety_five.total_breaches <= 0.05 * before.requests + 1e-9


def test_the_staffing_plan_for_a_backlog_due_on_the_hour_prevents_its_breaches():
    scenario = one_unit([Backlog("u", START - 5 * H, START + 3 * H, count=200)])
    plan = project(scenario, staffing_target=1.0)
    # 20 requests are left after the last quarter-hour wholly before the deadline (+ a call): the
    # plan pays for them there (it does not count on the 8 minutes of the next quarter-hour, where
    # 8 more would be called): 160 agent-minutes over hour 2's 60, 2.7 agents, so 3 whole agents.
    assert plan.staffing_slots() == {"u": [(2, 3)]}
    assert project(with_slots(scenario, plan)).total_breaches == pytest.approx(0, abs=1e-9)


def test_more_agents_never_mean_more_breaches():
    scenario = one_unit(arrivals=(40.0,) * 6, agents=3.0, stats=CallStats(8, 1.3), rules=Rules(sla_hours=4))
    breaches = [project(scenario.with_agents({"u": k / 2})).total_breaches for k in range(9)]
    assert breaches[0] > 100
    assert breaches[-1] == 0
    assert all(later <= earlier + 1e-9 for earlier, later in pairwise(breaches))
    assert breaches[1] < breaches[0]


def test_urgent_requests_are_called_before_earlier_deadlines():
    def scenario(urgent):
        return one_unit([Backlog("u", START - 5 * H, START + 2 * H, count=100),
                         Backlog("u", START - 5 * H, START + 3 * H, urgent=urgent, count=100)])

    # 8 agents of 8-minute calls: one call a minute. Urgent first: the urgent 100 by 100 minutes,
    # then 28 of the others by their deadline (+8 minutes): 72 breach, in hour 2; none in hour 3.
    urgent = project(scenario(True)).breaches["u"]
    assert urgent[2] == pytest.approx(72, abs=1e-6)
    assert urgent[3] == pytest.approx(0, abs=1e-9)
    # Neither urgent: the earliest deadline first, 100 by 100 minutes, 88 more by 188: 12 breach, in hour 3.
    normal = project(scenario(False)).breaches["u"]
    assert normal[2] == pytest.approx(0, abs=1e-9)
    assert normal[3] == pytest.approx(12, abs=1e-6)


def test_with_a_calendar_nobody_calls_before_opening():
    night = datetime(2026, 3, 10, 2, tzinfo=UTC)  # Tuesday 03:00 in Paris; opening at 07:00 UTC
    before_opening = Backlog("u", night - 5 * H, night + 4 * H, count=30)  # due at 06:00 UTC
    just_after = Backlog("u", night - 5 * H, night + 5.5 * H, count=100)  # due at 07:30 UTC
    unit = UnitLoad("u", (), (8.0,), calendar=CALENDAR, stats=ONE_CALL, backlog=(before_opening, just_after))
    projection = project(Scenario(night, (unit,), hours=6))
    assert projection.unavoidable == 30
    assert projection.breaches["u"][4] == pytest.approx(30)  # hour 4: 06:00 UTC
    # From 07:00 only: 8 agents × 38 minutes / 8 = 38 calls in time; the 30 breached go first
    # (top priority), so 8 of the 100 are called in time and 92 breach.
    assert projection.breaches["u"][5] == pytest.approx(92, abs=1e-6)
    assert projection.total_breaches == pytest.approx(122, abs=1e-6)


def test_an_unstaffed_unit_overflows_to_a_unit_with_spare_agents():
    idle = UnitLoad("a", (), (0.0,), stats=ONE_CALL, backlog=(Backlog("a", START, START + 6 * H, count=50),))
    spare = UnitLoad("b", (), (4.0,), stats=ONE_CALL)
    scenario = Scenario(START, (idle, spare), hours=6)
    # After 30 minutes in the queue, b's 4 agents (30 calls an hour) take them: all in time.
    assert project(scenario).total_breaches == 0
    # Never overflowing, and no level that overflows: nobody calls them, all 50 breach at their deadline.
    kept = replace(scenario, rules=Rules(overflow_after=timedelta(days=30), levels=parse_levels("half@50:raise")))
    projection = project(kept)
    assert projection.breaches["a"][6] == pytest.approx(50)
    assert projection.total_breaches == pytest.approx(50)
    assert projection.unavoidable == 0  # a's own opening hours were there; its agents were not
