"""The states of a callback request and the moves allowed between them."""
from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    OFFERED = "offered"
    IN_CALL = "in_call"
    SCHEDULED = "scheduled"
    RETRY_WAIT = "retry_wait"
    COMPLETED = "completed"
    UNREACHABLE = "unreachable"
    CANCELLED = "cancelled"


# A request in one of these states still expects a call: one per phone number at a time.
ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {Status.QUEUED, Status.OFFERED, Status.IN_CALL, Status.SCHEDULED, Status.RETRY_WAIT}
)
TERMINAL_STATUSES: frozenset[Status] = frozenset({Status.COMPLETED, Status.UNREACHABLE, Status.CANCELLED})

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset({Status.OFFERED, Status.IN_CALL, Status.CANCELLED}),
    Status.OFFERED: frozenset({Status.QUEUED, Status.IN_CALL, Status.CANCELLED}),
    # IN_CALL → QUEUED: the agent releases a call it took but did not dial.
    Status.IN_CALL: frozenset({Status.COMPLETED, Status.RETRY_WAIT, Status.SCHEDULED, Status.UNREACHABLE,
                               Status.QUEUED}),
    Status.SCHEDULED: frozenset({Status.QUEUED, Status.OFFERED, Status.IN_CALL, Status.CANCELLED}),
    # RETRY_WAIT → COMPLETED / UNREACHABLE / SCHEDULED: the agent corrects an outcome the
    # telephony recorded by itself (a "no answer" that was in fact a conversation).
    Status.RETRY_WAIT: frozenset({Status.QUEUED, Status.OFFERED, Status.IN_CALL, Status.CANCELLED, Status.COMPLETED,
                                  Status.UNREACHABLE, Status.SCHEDULED}),
    Status.COMPLETED: frozenset(),
    Status.UNREACHABLE: frozenset(),
    Status.CANCELLED: frozenset(),
}

# SQL text of the partial unique index "one active request per phone".
ACTIVE_SQL = "status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(ACTIVE_STATUSES)))
# The same for callback requests only (a campaign's contacts are not requests of the artisan).
ACTIVE_CALLBACK_SQL = f"{ACTIVE_SQL} AND campaign_id IS NULL"


class TransitionError(ValueError):
    """The requested move is not allowed from the current state."""

    def __init__(self, current: Status, target: Status):
        super().__init__(f"cannot move a callback request from {current} to {target}")
        self.current, self.target = current, target


def can_transition(current: Status | str, target: Status | str) -> bool:
    return Status(target) in TRANSITIONS[Status(current)]


def check_transition(current: Status | str, target: Status | str) -> None:
    if not can_transition(current, target):
        raise TransitionError(Status(current), Status(target))


def can_cancel(current: Status | str) -> bool:
    """The artisan may withdraw a request unless a call is in progress or it is over."""
    return can_transition(current, Status.CANCELLED)
