"""The assignment engine: who is offered which request, pulls, call attempts and their outcomes,
agents' availability, and the periodic tick. Import from here; the modules are:

- ``offers``: offering a waiting request, accepting, declining, expiring, withdrawing;
- ``pulls``: an agent taking the next call itself, or giving one back;
- ``attempts``: starting an attempt and closing it (one service for every channel);
- ``availability``: an agent's state;
- ``tick``: the periodic repair (lost jobs) and overflow.

Redis only makes things happen sooner: the database holds every deadline, and the tick does
what a lost job would have done.
"""
from .attempts import correct_outcome, record_outcome, requeue_due, start_attempt
from .availability import set_availability
from .common import AssignmentConflict, Settings, held_count, lock_agent
from .offers import (
                     accept_offer,
                     assign_request,
                     best_free_agent,
                     decline_offer,
                     expire_offer,
                     free_agent_for,
                     make_offer,
                     offer_next_to_agent,
                     withdraw_offer,
)
from .pulls import claim_for, claim_next, release_request
from .tick import dispatch_tick, overflow_waiting

__all__ = [
                     "AssignmentConflict",
                     "Settings",
                     "accept_offer",
                     "assign_request",
                     "best_free_agent",
                     "claim_for",
                     "claim_next",
                     "correct_outcome",
                     "decline_offer",
                     "dispatch_tick",
                     "expire_offer",
                     "free_agent_for",
                     "held_count",
                     "lock_agent",
                     "make_offer",
                     "offer_next_to_agent",
                     "overflow_waiting",
                     "record_outcome",
                     "release_request",
                     "requeue_due",
                     "set_availability",
                     "start_attempt",
                     "withdraw_offer",
]
