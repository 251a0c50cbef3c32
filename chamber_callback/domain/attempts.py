"""Closing a call attempt: what an outcome means for the request. Defined once, here.

Every channel that ends an attempt (the console, the staff API, an agent's correction, the
telephony's status callbacks) reports an outcome; ``after_outcome`` decides whether it counts
as a failed attempt, when the next try is, when the request becomes unreachable, and which
message the artisan gets. ``check_report`` is the one schema for what an agent reports.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from .intake import N_
from .lifecycle import Status
from .text import CONTROL_MESSAGE, has_control, strip_invisible


class Outcome(StrEnum):
    REACHED_RESOLVED = "reached_resolved"
    REACHED_FOLLOW_UP = "reached_follow_up"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"


# Nobody answered: a failed attempt, tried again after a gap, up to the maximum.
RETRY_OUTCOMES = frozenset({Outcome.NO_ANSWER, Outcome.VOICEMAIL})
# Somebody answered: the artisan was reached (the SLA's "first reach").
REACHED_OUTCOMES = frozenset({Outcome.REACHED_RESOLVED, Outcome.REACHED_FOLLOW_UP, Outcome.REFUSED})
MAX_NOTE_LENGTH = 2000
MAX_FOLLOW_UP_AHEAD = timedelta(days=30)  # a later date is almost always a typo (2027 for 2026)
# An outcome the telephony recorded by itself may be corrected by its agent for this long.
CORRECTION_WINDOW = timedelta(hours=1)
# The note of an outcome the telephony recorded by itself starts with this (so it can be corrected).
AUTOMATIC_NOTE_PREFIX = "Résultat relevé sur l'appel"


def counts_as_failure(outcome: Outcome | str | None) -> bool:
    return outcome is not None and Outcome(outcome) in RETRY_OUTCOMES


@dataclass(frozen=True)
class NextStep:
    status: Status
    failed_attempts: int  # unanswered attempts so far, this one included
    next_attempt_at: datetime | None = None  # the retry, or the agreed follow-up time
    reached: bool = False
    message: str | None = None  # the message to the artisan: "unreachable" or "follow_up"


def after_outcome(outcome: Outcome | str, *, failed_before: int, max_attempts: int, now: datetime,
                  retry_gap: timedelta, follow_up_at: datetime | None = None) -> NextStep:
    """Where a request goes once an attempt ends with ``outcome``.

    ``failed_before``: unanswered attempts before this one. A follow-up needs its time (see
    ``check_report``); without one, a reached-follow-up call is complete.
    """
    outcome = Outcome(outcome)
    failed = failed_before + counts_as_failure(outcome)
    if outcome in RETRY_OUTCOMES:
        if failed >= max_attempts:
            return NextStep(Status.UNREACHABLE, failed, message="unreachable")
        return NextStep(Status.RETRY_WAIT, failed, now + retry_gap)
    if outcome == Outcome.WRONG_NUMBER:
        return NextStep(Status.UNREACHABLE, failed)  # the number is wrong: nothing to send it
    reached = outcome in REACHED_OUTCOMES
    if outcome == Outcome.REACHED_FOLLOW_UP and follow_up_at is not None:
        if follow_up_at <= now:
            raise ValueError("follow_up_at must be in the future")
        return NextStep(Status.SCHEDULED, failed, follow_up_at, reached=True, message="follow_up")
    return NextStep(Status.COMPLETED, failed, reached=reached)


def after_correction(previous: Outcome | str, corrected: Outcome | str, *, failed_attempts: int, max_attempts: int,
                     now: datetime, retry_gap: timedelta, follow_up_at: datetime | None = None) -> NextStep:
    """The same decision when an agent corrects an automatic outcome: the attempt counts as the
    corrected outcome, not as the one recorded first."""
    return after_outcome(corrected, failed_before=failed_attempts - counts_as_failure(previous),
                         max_attempts=max_attempts, now=now, retry_gap=retry_gap, follow_up_at=follow_up_at)


def may_correct(*, automatic: bool, latest: bool, status: str, ended_at: datetime | None, now: datetime) -> bool:
    """Only the request's latest attempt, closed by the telephony itself within the hour, while the
    request waits for its next try, may have its outcome corrected."""
    return (automatic and latest and status == Status.RETRY_WAIT and ended_at is not None
            and now - ended_at <= CORRECTION_WINDOW)


# --- what an agent reports: one schema for the console and the API ------------------------------

@dataclass(frozen=True)
class OutcomeReport:
    outcome: Outcome
    note: str | None
    follow_up_at: datetime | None  # only with a follow-up


class ReportError(ValueError):
    """``errors`` maps a field (outcome, note, follow_up_at) to a message (French, for gettext)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def check_report(outcome: str | None, note: str | None, follow_up_at: datetime | None, now: datetime
                 ) -> OutcomeReport:
    """A valid report, or ``ReportError``. A follow-up needs a time to come (within 30 days); the
    time is dropped for any other outcome."""
    errors: dict[str, str] = {}
    if outcome not in {o.value for o in Outcome}:
        errors["outcome"] = N_("Choisissez le résultat de l'appel.")
    if note is not None and not isinstance(note, str):
        errors["note"] = N_("La note doit être un texte.")
    elif note and has_control(note, multiline=True):
        errors["note"] = CONTROL_MESSAGE
    elif note and len(note) > MAX_NOTE_LENGTH:
        errors["note"] = N_("La note fait 2 000 caractères au plus.")
    if outcome == Outcome.REACHED_FOLLOW_UP:
        if follow_up_at is None:
            errors["follow_up_at"] = N_("Indiquez quand rappeler l'artisan, ou choisissez « Joint : question réglée ».")
        elif follow_up_at.tzinfo is None:
            raise ValueError("follow_up_at must be timezone-aware")
        elif follow_up_at <= now:
            errors["follow_up_at"] = N_("Choisissez une date de rappel à venir.")
        elif follow_up_at - now > MAX_FOLLOW_UP_AHEAD:
            errors["follow_up_at"] = N_("Un rappel se programme dans les 30 jours : vérifiez la date.")
    if errors:
        raise ReportError(errors)
    return OutcomeReport(Outcome(outcome), (strip_invisible(note) or "").strip() or None,
                         follow_up_at if outcome == Outcome.REACHED_FOLLOW_UP else None)
