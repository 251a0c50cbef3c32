"""The callback-time model (pure): windows from the queue, the agents' presence and recent figures."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chamber_callback.domain.eta import CallStats, Shift, Waiting, estimate, estimate_last, moved
from chamber_callback.domain.sla import BusinessCalendar

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris, a Wednesday
PARIS = ZoneInfo("Europe/Paris")
STATS = CallStats(call_minutes=10, attempts_per_request=1.0, variation=0.8)


def queue(n: int, deadline_hours: float = 24) -> list[Waiting]:
    return [Waiting(i, NOW + timedelta(hours=deadline_hours)) for i in range(1, n + 1)]


def agents(n: int, hours: float = 12) -> list[Shift]:
    return [Shift(a, NOW, NOW + timedelta(hours=hours)) for a in range(1, n + 1)]


def test_one_agent_calls_the_queue_in_order_and_windows_widen_with_the_wait():
    windows = estimate(queue(6), agents(1), NOW, STATS)
    expected = [windows[i].expected for i in range(1, 7)]
    assert expected == [NOW + timedelta(minutes=10 * k) for k in range(6)]
    assert all(windows[i].start <= windows[i].expected <= windows[i].end for i in windows)
    assert windows[1].width <= timedelta(minutes=30)  # called within minutes: a short window
    assert windows[6].width > windows[2].width


def test_more_agents_mean_earlier_calls():
    alone, team = estimate(queue(20), agents(1), NOW, STATS), estimate(queue(20), agents(4), NOW, STATS)
    assert team[20].expected < alone[20].expected
    assert team[20].expected == NOW + timedelta(minutes=10 * (19 // 4))


def test_a_window_never_ends_after_the_deadline():
    windows = estimate(queue(30, deadline_hours=2), agents(1), NOW, STATS)
    assert all(w.end <= NOW + timedelta(hours=2) for w in windows.values())


def test_without_any_agent_the_deadline_is_given_with_the_reason():
    window = estimate(queue(1), [], NOW, STATS)[1]
    assert window.reason == "no_agent" and window.end == NOW + timedelta(hours=24)


def test_calls_wait_for_the_opening_hours():
    calendar = BusinessCalendar(tz=PARIS, hours={d: (time(8), time(12)) for d in range(6)})
    late = NOW + timedelta(hours=2, minutes=55)  # 12:55 in Paris: closed until tomorrow 8:00
    windows = estimate(queue(1), [Shift(1, late, late + timedelta(days=2))], late, STATS, calendar)
    assert windows[1].expected == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)  # Thursday 8:00 Paris


def test_a_preferred_window_and_a_busy_agent_delay_the_call():
    after_lunch = NOW + timedelta(hours=3)
    windows = estimate([Waiting(1, NOW + timedelta(hours=24), not_before=after_lunch)], agents(1), NOW, STATS)
    assert windows[1].expected == after_lunch
    busy = estimate(queue(1), agents(1), NOW, STATS, busy_until={1: NOW + timedelta(minutes=7)})
    assert busy[1].expected == NOW + timedelta(minutes=7)


def test_retries_cost_agent_time():
    retried = estimate(queue(3), agents(1), NOW, CallStats(call_minutes=10, attempts_per_request=2.0))
    assert retried[3].expected == NOW + timedelta(minutes=40)


def test_a_window_is_stored_again_only_when_it_moved_more_than_its_width():
    first = estimate(queue(5), agents(1), NOW, STATS)[5]
    assert moved(None, first)
    again = estimate(queue(5), agents(1), NOW + timedelta(minutes=2), STATS)[5]
    assert not moved(first, again)
    later = estimate(queue(20), agents(1), NOW, STATS)[20]
    assert moved(first, later)


def test_the_last_window_alone_is_the_one_of_the_whole_walk():
    """A new request's window (estimate_last) skips the windows ahead but not their call slots."""
    import random

    rng = random.Random(7)
    calendar = BusinessCalendar(tz=PARIS, hours={day: (time(8), time(19)) for day in range(6)})
    for _case in range(40):
        waiting = [Waiting(i, NOW + timedelta(hours=rng.choice([2, 6, 24, 48])),
                           NOW + timedelta(minutes=rng.choice([0, 0, 0, 45, 300]))) for i in range(rng.randint(1, 80))]
        shifts = [Shift(a, NOW + timedelta(minutes=rng.choice([0, 30])), NOW + timedelta(hours=rng.choice([1, 4, 9])),
                        rng.choice([1, 2])) for a in range(rng.randint(0, 6))]
        busy = {1: NOW + timedelta(minutes=12)}
        assert estimate_last(waiting, shifts, NOW, STATS, calendar, busy) == \
            estimate(waiting, shifts, NOW, STATS, calendar, busy)[waiting[-1].id]
    assert estimate_last([], agents(1), NOW, STATS) is None
    # Counted instead of listed: the same slots taken.
    untimed = queue(30)
    new = Waiting(99, NOW + timedelta(hours=24))
    assert estimate_last([new], agents(3), NOW, STATS, first=30) == estimate([*untimed, new], agents(3), NOW, STATS)[99]
