"""The one clock: every module asks it for "now" (aware, UTC), and passes that instant down.

The domain never reads the time itself; services and jobs take ``now`` as an argument, so tests
choose the moment instead of waiting for it (``tests.conftest.freeze_clock`` sets ``source``).
"""
from __future__ import annotations

from datetime import UTC, datetime


def source() -> datetime:
    return datetime.now(UTC)


def utcnow() -> datetime:
    return source()
