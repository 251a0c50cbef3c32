"""The per-process cache behind the reference data, the callback windows' pace, the forecast and
the dashboard's figures."""
from chamber_callback import process_cache
from chamber_callback.process_cache import ProcessCache


def test_a_value_is_computed_once_per_period_and_key(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(process_cache.time, "monotonic", lambda: clock[0])
    cache, computed = ProcessCache(), []

    def compute(value):
        return lambda: computed.append(value) or value

    assert [cache.get("a", 5, compute(1)), cache.get("a", 5, compute(2)), cache.get("b", 5, compute(3))] == [1, 1, 3]
    clock[0] += 5
    assert cache.get("a", 5, compute(4)) == 4
    assert cache.get("a", 5, compute(5), still_good=lambda value: value != 4) == 5
    cache.clear()
    assert cache.get("a", 5, compute(6)) == 6
    assert computed == [1, 3, 4, 5, 6]


def test_no_period_keeps_nothing():
    cache, computed = ProcessCache(), []
    assert [cache.get("a", 0, lambda: computed.append(1) or len(computed)) for _ in range(3)] == [1, 2, 3]
    assert cache._values == {}
