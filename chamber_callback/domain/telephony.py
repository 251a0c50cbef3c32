"""What a call's real status means for the attempt (pure).

Twilio's status callbacks may arrive twice or out of order: a leg's status only moves forward
(a late ``ringing`` never overwrites ``completed``). The artisan's leg decides the outcome:
nobody answered, the line was busy or failed, or an answering machine took it → the attempt
closes by itself as ``no_answer`` / ``voicemail`` (a voicemail is never a reached artisan);
a person answered → the agent records how the conversation went.
"""
from __future__ import annotations

from .attempts import Outcome

STATUS_RANK = {"queued": 0, "initiated": 1, "ringing": 2, "in-progress": 3, "answered": 3,
               "completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4}
FINAL_STATUSES = frozenset(status for status, rank in STATUS_RANK.items() if rank == 4)
MACHINE_ANSWERS = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})
# A "completed" artisan leg shorter than this was not a conversation (hung up at once).
MIN_CONVERSATION_SECONDS = 10

def moves_forward(current: str | None, new: str) -> bool:
    """True when ``new`` is a later step than ``current`` (unknown statuses never move)."""
    if new not in STATUS_RANK:
        return False
    return current is None or STATUS_RANK[new] > STATUS_RANK.get(current, -1)


def automatic_outcome(artisan_status: str, duration_s: int | None, answered_by: str | None,
                      min_conversation_s: int = MIN_CONVERSATION_SECONDS) -> Outcome | None:
    """The outcome recorded by the system from the artisan leg's final status, or None when a
    person answered (the agent says how it went)."""
    if artisan_status not in FINAL_STATUSES:
        return None
    if answered_by in MACHINE_ANSWERS:
        return Outcome.VOICEMAIL
    if artisan_status in ("busy", "no-answer", "failed", "canceled"):
        return Outcome.NO_ANSWER
    if (duration_s or 0) < min_conversation_s:
        return Outcome.NO_ANSWER
    return None
