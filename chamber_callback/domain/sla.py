"""The SLA clock: when a request must have been called back.

Durations are added in UTC, so a deadline is a real 24 hours later across DST changes.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


def sla_deadline(submitted_at: datetime, sla_hours: float, preferred_end: datetime | None = None) -> datetime:
    """Submission + SLA; a preferred window ending later moves the deadline to its end."""
    if submitted_at.tzinfo is None:
        raise ValueError("submitted_at must be timezone-aware")
    deadline = submitted_at.astimezone(timezone.utc) + timedelta(hours=sla_hours)
    if preferred_end is not None and preferred_end > deadline:
        return preferred_end
    return deadline
