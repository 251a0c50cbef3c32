"""The SLA clock, table-driven: exact deadlines for the business-hours and calendar clocks."""
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from chamber_callback.domain.escalation import DEFAULT_LEVELS, due_now, next_escalation, sla_state
from chamber_callback.domain.sla import (
    HOLIDAY_SUBDIVISIONS,
    BusinessCalendar,
    open_time_between,
    paused_time,
    rebuild_deadline,
    sla_deadline,
    sla_used,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(*args):
    return datetime(*args, tzinfo=PARIS)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def calendar(departement="75", closed=()):
    return BusinessCalendar(tz=PARIS, departement=departement, closed_days=frozenset(closed))


@pytest.mark.parametrize("case, submitted, departement, expected", [
    ("weekday morning", paris(2026, 11, 24, 10, 0), "75", utc(2026, 11, 25, 20, 0)),
    ("submitted at night starts at opening", paris(2026, 11, 24, 23, 30), "75", utc(2026, 11, 26, 18, 0)),
    ("before opening", paris(2026, 11, 24, 6, 0), "75", utc(2026, 11, 25, 18, 0)),
    ("Saturday afternoon skips Sunday", paris(2026, 11, 28, 15, 0), "75", utc(2026, 12, 1, 12, 0)),
    ("Armistice Day is closed", paris(2026, 11, 10, 18, 0), "75", utc(2026, 11, 13, 15, 0)),
    ("spring DST weekend (29 March)", paris(2026, 3, 28, 20, 0), "75", utc(2026, 3, 31, 16, 0)),
    ("autumn DST weekend (25 October)", paris(2026, 10, 24, 20, 0), "75", utc(2026, 10, 27, 17, 0)),
    ("Good Friday open in Paris", paris(2026, 4, 2, 18, 0), "75", utc(2026, 4, 4, 14, 0)),
    ("Good Friday closed in Bas-Rhin", paris(2026, 4, 2, 18, 0), "67", utc(2026, 4, 7, 14, 0)),
    ("Good Friday closed in Moselle", paris(2026, 4, 2, 18, 0), "57", utc(2026, 4, 7, 14, 0)),
    ("Saint Stephen closed in Haut-Rhin", paris(2026, 12, 24, 18, 0), "68", utc(2026, 12, 29, 15, 0)),
    ("Saint Stephen open in Paris", paris(2026, 12, 24, 18, 0), "75", utc(2026, 12, 28, 15, 0)),
    ("Martinique: abolition day", paris(2026, 5, 21, 18, 0), "972", utc(2026, 5, 26, 14, 0)),
    ("same dates in Paris", paris(2026, 5, 21, 18, 0), "75", utc(2026, 5, 23, 14, 0)),
])
def test_business_hours_deadline(case, submitted, departement, expected):
    assert sla_deadline(submitted, 24, calendar=calendar(departement)) == expected, case


def test_closed_day_set_by_a_manager():
    submitted = paris(2026, 11, 24, 10, 0)
    assert sla_deadline(submitted, 24, calendar=calendar(closed={date(2026, 11, 25)})) == utc(2026, 11, 26, 20, 0)


@pytest.mark.parametrize("submitted, expected", [
    (paris(2026, 10, 24, 12, 0), paris(2026, 10, 25, 11, 0)),  # 24 real hours: the wall clock says 11:00
    (paris(2026, 3, 28, 12, 0), paris(2026, 3, 29, 13, 0)),
    (paris(2026, 11, 24, 23, 30), paris(2026, 11, 25, 23, 30)),  # nights count on the calendar clock
])
def test_calendar_deadline_is_24_real_hours(submitted, expected):
    deadline = sla_deadline(submitted, 24)
    assert deadline == expected
    assert deadline - submitted == timedelta(hours=24)


def test_preferred_window_moves_the_deadline_never_earlier():
    submitted = paris(2026, 11, 24, 10, 0)
    normal = sla_deadline(submitted, 24, calendar=calendar())
    later = normal + timedelta(hours=20)
    assert sla_deadline(submitted, 24, later, calendar=calendar()) == later
    assert sla_deadline(submitted, 24, normal - timedelta(hours=3), calendar=calendar()) == normal


def test_holiday_subdivisions_are_real():
    # An unknown alias silently adds nothing: every code used must be a real subdivision.
    assert set(HOLIDAY_SUBDIVISIONS.values()) <= set(holidays.France.subdivisions)
    assert date(2026, 4, 3) in holidays.country_holidays("FR", subdiv="6AE", years=2026)


def test_open_time_between_counts_only_open_hours():
    cal = calendar()
    assert open_time_between(paris(2026, 11, 28, 20, 0), paris(2026, 11, 30, 9, 0), cal) == timedelta(hours=2)
    assert open_time_between(paris(2026, 11, 30, 9, 0), paris(2026, 11, 28, 20, 0), cal) == timedelta(0)


def test_share_of_the_sla_used():
    submitted = utc(2026, 11, 24, 9, 0)
    deadline = submitted + timedelta(hours=24)
    assert sla_used(submitted, deadline, submitted + timedelta(hours=12)) == 0.5
    assert sla_used(submitted, deadline, submitted + timedelta(hours=30)) == 1.25
    assert sla_state(0.49) == "ok" and sla_state(0.5) == "raised"
    assert sla_state(0.8) == "at-risk" and sla_state(1.0) == "breached"


def test_scheduled_time_pauses_the_clock_and_is_rebuilt_from_history():
    submitted = utc(2026, 11, 24, 9, 0)
    moves = [
        (submitted, None, "queued"),
        (submitted + timedelta(hours=2), "queued", "in_call"),
        (submitted + timedelta(hours=2, minutes=10), "in_call", "scheduled"),
        (submitted + timedelta(hours=7, minutes=10), "scheduled", "queued"),
    ]
    now = submitted + timedelta(hours=8)
    assert paused_time(moves, now) == timedelta(hours=5)
    assert rebuild_deadline(submitted, 24, moves, now) == submitted + timedelta(hours=29)
    still_paused = moves[:3]
    assert paused_time(still_paused, now) == timedelta(hours=5, minutes=50)


def test_pause_counts_only_open_time_with_business_hours():
    cal = calendar()
    moves = [(paris(2026, 11, 24, 20, 0), "in_call", "scheduled"), (paris(2026, 11, 25, 9, 0), "scheduled", "queued")]
    assert paused_time(moves, paris(2026, 11, 25, 10, 0), cal) == timedelta(hours=2)


SUBMITTED = utc(2026, 11, 24, 9, 0)
DEADLINE = SUBMITTED + timedelta(hours=24)


def test_levels_fall_due_at_50_75_100_percent_then_repeat():
    steps, fired = [], set()
    while len(steps) < 5:
        step = next_escalation(SUBMITTED, DEADLINE, fired, DEFAULT_LEVELS, timedelta(hours=4))
        steps.append((step.level.code, step.at - SUBMITTED))
        fired.add(step.level.code)
    assert steps == [("half", timedelta(hours=12)), ("senior", timedelta(hours=18)), ("breach", timedelta(hours=24)),
                     ("breach+1", timedelta(hours=28)), ("breach+2", timedelta(hours=32))]
    assert next_escalation(SUBMITTED, DEADLINE, {"half", "senior", "breach"}, DEFAULT_LEVELS, None) is None


def test_a_late_tick_catches_up_every_level_in_order():
    due = due_now(SUBMITTED, DEADLINE, set(), SUBMITTED + timedelta(hours=25), repeat_every=timedelta(hours=4))
    assert [level.code for level in due] == ["half", "senior", "breach"]
    assert due_now(SUBMITTED, DEADLINE, {"half"}, SUBMITTED + timedelta(hours=11)) == []


def test_levels_follow_open_time_on_the_business_clock():
    cal = calendar()
    submitted = paris(2026, 11, 24, 10, 0)  # Tue 10:00, deadline Wed 21:00
    deadline = sla_deadline(submitted, 24, calendar=cal)
    step = next_escalation(submitted, deadline, set(), calendar=cal)
    assert step.at == paris(2026, 11, 25, 9, 0)  # 12 open hours: 11 on Tuesday, then Wednesday 08:00–09:00


def test_a_very_late_tick_sends_one_reminder_not_one_per_missed_period():
    due = due_now(SUBMITTED, DEADLINE, set(), DEADLINE + timedelta(hours=48), repeat_every=timedelta(hours=4))
    assert [level.code for level in due] == ["half", "senior", "breach", "breach+12"]
    step = next_escalation(SUBMITTED, DEADLINE, {"half", "senior", "breach", "breach+12"}, DEFAULT_LEVELS,
                           timedelta(hours=4))
    assert (step.level.code, step.at) == ("breach+13", DEADLINE + timedelta(hours=52))


def test_reminders_wait_for_opening_hours_on_the_business_clock():
    cal = calendar()
    deadline = paris(2026, 11, 28, 21, 0)  # Saturday closing time
    step = next_escalation(deadline - timedelta(hours=30), deadline, {"half", "senior", "breach"}, DEFAULT_LEVELS,
                           timedelta(hours=4), cal)
    assert step.at == paris(2026, 11, 30, 12, 0)  # Monday, 4 open hours later, not Sunday 01:00


def test_escalation_levels_are_configurable_data():
    from chamber_callback.domain.escalation import DEFAULT_LEVELS_SPEC, PRIORITY_TOP, parse_levels

    assert [(lv.code, lv.share, lv.notify, lv.overflow) for lv in parse_levels(DEFAULT_LEVELS_SPEC)] == [
        ("half", 0.5, (), False), ("senior", 0.75, ("senior",), False), ("breach", 1.0, ("manager",), True)]
    custom = parse_levels("early@25:senior; breach@100:top,manager,senior,overflow")
    assert [lv.code for lv in custom] == ["early", "breach"]
    assert custom[1].priority == PRIORITY_TOP and custom[1].notify == ("senior", "manager")
    for bad in ("half@150:raise", "half@x:raise", "half@50:shout", "a@50; a@60", "breach+1@50"):
        with pytest.raises(ValueError):
            parse_levels(bad)


def test_sla_states_follow_the_configured_levels():
    from chamber_callback.domain.escalation import at_risk_codes, parse_levels, thresholds

    custom = parse_levels("early@30:raise; warn@60:senior; late@90:manager; breach@100:top,manager")
    assert thresholds(custom).raised == 0.3 and thresholds(custom).at_risk == 0.6
    assert at_risk_codes(custom) == ["warn", "late"]
    assert [sla_state(share, custom) for share in (0.29, 0.3, 0.6, 0.95, 1.0)] == [
        "ok", "raised", "at-risk", "at-risk", "breached"]
    silent = parse_levels("breach@100:top,manager")  # nobody is told before the deadline
    assert thresholds(silent).at_risk is None and at_risk_codes(silent) == []
    assert sla_state(0.99, silent) == "ok"
