"""Values a process keeps for a few seconds, shared by its threads: the reference data every
submission reads, a unit's pace for the callback windows, the forecast, the dashboard's figures.

    cache = ProcessCache()
    value = cache.get(key, seconds, compute)     # compute() at most once per ``seconds`` and key

``seconds`` of 0 or less computes every time and keeps nothing (the tests' setting). Entries past
their time are dropped whenever a value is stored, so a key that is not asked again does not stay.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class ProcessCache:
    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, object]] = {}  # key: (expiry on the monotonic clock, value)
        self._lock = threading.Lock()

    def get(self, key: Hashable, seconds: float, compute: Callable[[], T],
            still_good: Callable[[T], bool] | None = None) -> T:
        """The value kept for ``key`` while younger than ``seconds`` (and ``still_good`` of it, when
        given), else ``compute()``, kept."""
        if seconds <= 0:
            return compute()
        with self._lock:
            found = self._values.get(key)
        if found is not None and found[0] > time.monotonic() and (still_good is None or still_good(found[1])):
            return found[1]
        value = compute()
        with self._lock:
            moment = time.monotonic()
            for stale in [k for k, (expiry, _value) in self._values.items() if expiry <= moment]:
                del self._values[stale]
            self._values[key] = (moment + seconds, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
