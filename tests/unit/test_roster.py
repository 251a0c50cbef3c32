"""The roster rules (pure): hours, a day that differs from the template, the CSV week."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from chamber_callback.domain.roster import Hours, RosterError, parse_hours, parse_time, parse_week_csv, periods, planned

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 12, 7)


def test_times_are_read_in_the_usual_french_ways_and_refused_clearly():
    assert parse_time("08:30") == parse_time("08h30") == time(8, 30)
    with pytest.raises(RosterError) as error:
        parse_time("8 heures")
    assert "08:30" in error.value.message
    assert parse_hours("", " ") is None
    with pytest.raises(RosterError):
        parse_hours("16:00", "08:00")  # the end before the start


def test_a_day_of_its_own_wins_over_the_template_and_a_day_off_is_none():
    template = {0: Hours(time(8), time(16)), 1: Hours(time(9), time(17))}
    days = {MONDAY: None}
    assert planned(template, days, MONDAY) is None
    assert planned(template, days, date(2026, 12, 8)) == Hours(time(9), time(17))
    assert planned(template, days, date(2026, 12, 9)) is None  # not in the template: not working
    spans = periods(template, {}, MONDAY, date(2026, 12, 8), PARIS)
    assert spans == [(datetime(2026, 12, 7, 7, tzinfo=UTC), datetime(2026, 12, 7, 15, tzinfo=UTC)),
                     (datetime(2026, 12, 8, 8, tzinfo=UTC), datetime(2026, 12, 8, 16, tzinfo=UTC))]


def test_the_csv_week_is_checked_whole_and_names_the_bad_line():
    text = "email;date;debut;fin\nA@cma.fr;2026-12-07;08:00;16:00\na@cma.fr;2026-12-08;;\n"
    rows = parse_week_csv(text, ["a@cma.fr"])
    assert [(r.email, r.day, r.hours) for r in rows] == [
        ("a@cma.fr", MONDAY, Hours(time(8), time(16))), ("a@cma.fr", date(2026, 12, 8), None)]
    with pytest.raises(RosterError) as error:
        parse_week_csv(text + "a@cma.fr;2026-12-09;18:00;09:00\n", ["a@cma.fr"])
    assert error.value.params["n"] == 4
    with pytest.raises(RosterError) as error:
        parse_week_csv("b@cma.fr,2026-12-07,08:00,16:00\n", ["a@cma.fr"])  # commas are read too
    assert error.value.params == {"n": 1, "email": "b@cma.fr"}
    with pytest.raises(RosterError):
        parse_week_csv("email;date;debut;fin\n", ["a@cma.fr"])
