"""``flask simulate`` replays the chamber as it is, with the staffing and the surge given."""
from datetime import UTC, datetime, timedelta

from tests.integration.helpers import make_request

NOW = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # a Wednesday, 10:30 in Paris
UNIT = "idf-nord-om"


def _row(output: str, code: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.startswith(code))
    return line.split()


def test_nobody_to_call_means_every_waiting_request_breaches(app, freeze_clock):
    freeze_clock(NOW)
    for _ in range(4):
        make_request(now=NOW - timedelta(hours=2))
    result = app.test_cli_runner().invoke(args=["simulate", "--arrivals", "0", "--runs", "2"])
    assert result.exit_code == 0, result.output
    row = _row(result.output, UNIT)
    assert row[1:4] == ["4", "0", "0"]  # waiting, arriving, agents
    assert row[4:6] == ["4", "(4–4)"] and row[6] == "4"  # simulated breaches (mean, range) and the forecast's
    assert f"give --agents {UNIT}=N" in result.output


def test_enough_agents_call_everyone_in_time(app, freeze_clock):
    freeze_clock(NOW)
    for _ in range(4):
        make_request(now=NOW - timedelta(hours=2))
    result = app.test_cli_runner().invoke(args=["simulate", "--arrivals", "50/day", "--agents", f"{UNIT}=3,ouest=2",
                                                "--runs", "3", "--calibration"])
    assert result.exit_code == 0, result.output
    row = _row(result.output, UNIT)
    assert row[3] == "3" and row[4:6] == ["0", "(0–0)"]
    assert 40 <= int(_row(result.output, "all units")[2]) <= 65  # 4 waiting and about 50 arriving
    assert "Callback windows:" in result.output and "of first calls started inside" in result.output


def test_a_bad_staffing_is_refused_with_the_units_to_choose_from(app, freeze_clock):
    freeze_clock(NOW)
    result = app.test_cli_runner().invoke(args=["simulate", "--agents", "nord=3"])
    assert result.exit_code == 2
    assert "unknown unit 'nord'" in result.output and UNIT in result.output
    result = app.test_cli_runner().invoke(args=["simulate", "--agents", f"{UNIT}=trois"])
    assert result.exit_code == 2 and "expected unit=agents" in result.output
    result = app.test_cli_runner().invoke(args=["simulate", "--arrivals", "beaucoup/day"])
    assert result.exit_code == 2 and "expected a number of requests a day" in result.output


def test_an_hourly_rate_is_a_day_of_24_hours(app, freeze_clock):
    freeze_clock(NOW)
    result = app.test_cli_runner().invoke(args=["simulate", "--arrivals", "10/h", "--runs", "1", "--hours", "2",
                                                "--agents", f"{UNIT}=2"])
    assert result.exit_code == 0, result.output
    assert 5 <= int(_row(result.output, "all units")[2]) <= 40  # 20 expected in 2 hours
