"""References, tokens, the lifecycle and the calendar SLA clock."""
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from chamber_callback.domain.lifecycle import (
    ACTIVE_STATUSES,
    TERMINAL_STATUSES,
    Status,
    TransitionError,
    can_cancel,
    check_transition,
)
from chamber_callback.domain.reference import (
    REFERENCE_ALPHABET,
    new_reference,
    new_status_token,
    normalise_reference,
    token_digest,
)
from chamber_callback.domain.sla import sla_deadline


def test_reference_is_short_and_unambiguous():
    for _ in range(500):
        reference = new_reference()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", reference)
        assert not set(reference.replace("-", "")) & set("01IOLZ2S5B8G6QW")
    assert len(set(REFERENCE_ALPHABET)) == len(REFERENCE_ALPHABET) == 21


def test_reference_typed_by_a_person_is_normalised():
    assert normalise_reference("k7ma 4xpt") == "K7MA-4XPT"


def test_status_token_has_at_least_128_bits():
    tokens = {new_status_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) >= 43 for t in tokens)  # 32 bytes of randomness, base64url
    assert token_digest("abc") != "abc" and len(token_digest("abc")) == 64


def test_lifecycle_states():
    assert ACTIVE_STATUSES.isdisjoint(TERMINAL_STATUSES)
    assert set(Status) == ACTIVE_STATUSES | TERMINAL_STATUSES
    check_transition("queued", "offered")
    with pytest.raises(TransitionError):
        check_transition("cancelled", "queued")
    with pytest.raises(TransitionError):
        check_transition("queued", "completed")


@pytest.mark.parametrize("status, allowed", [
    ("queued", True), ("offered", True), ("scheduled", True), ("retry_wait", True),
    ("in_call", False), ("completed", False), ("unreachable", False), ("cancelled", False),
])
def test_artisan_may_cancel_unless_in_call_or_closed(status, allowed):
    assert can_cancel(status) is allowed


PARIS = ZoneInfo("Europe/Paris")


def test_calendar_deadline_is_24_real_hours_across_dst():
    submitted = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)  # day before summer time
    deadline = sla_deadline(submitted, 24)
    assert deadline - submitted == timedelta(hours=24)
    assert deadline.astimezone(PARIS).hour == 13  # wall clock moved on by one hour


def test_preferred_window_ending_later_moves_the_deadline():
    submitted = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    later_end = submitted + timedelta(hours=30)
    assert sla_deadline(submitted, 24, later_end) == later_end
    earlier_end = submitted + timedelta(hours=10)
    assert sla_deadline(submitted, 24, earlier_end) == submitted + timedelta(hours=24)


def test_naive_submission_time_is_refused():
    with pytest.raises(ValueError):
        sla_deadline(datetime(2026, 1, 1), 24)
