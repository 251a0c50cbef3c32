"""Click-to-call: placing a bridged call for an attempt, and what its status callbacks mean."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update

from ..clock import utcnow
from ..domain.attempts import AUTOMATIC_NOTE_PREFIX
from ..domain.telephony import FINAL_STATUSES, MACHINE_ANSWERS, automatic_outcome, moves_forward
from ..extensions import begin_write, db, insert_or_ignore
from ..models import CallAttempt, CallEvent, StaffUser
from ..queues import REDIS_ERRORS, get_redis, schedule_bridge
from ..telephony import TelephonyError, get_telephony
from . import assignment

log = logging.getLogger(__name__)

# The bridge first calls the agent: a refused number here is the agent's own.
AGENT_NUMBER_CODES = frozenset({21211, 21214, 21217, 13224})

# The notes the system writes on an attempt: stored with it (its history), in the chamber's language
# whoever reads them later, so not translated; an automatic outcome's starts with AUTOMATIC_NOTE_PREFIX.
ATTEMPT_NOTES = {
    "no_answer": f"{AUTOMATIC_NOTE_PREFIX} : personne n'a décroché.",
    "voicemail": f"{AUTOMATIC_NOTE_PREFIX} : messagerie.",
    "stuck": "Appel clos d'après l'opérateur (nouvelles manquantes).",
    "agent_unreached": "L'appel du conseiller n'a pas abouti : l'artisan n'a pas été appelé.",
    "agent_number": "L'opérateur refuse votre numéro de téléphone : faites-le corriger dans votre profil. "
                    "La demande retourne dans la file.",
    "bridge_failed": "L'appel n'a pas pu être lancé (erreur {code}) : la demande retourne dans la file.",
}


class CallNotPlaced(Exception):
    """Shown to the agent as is (already translated)."""


def place_call(reference: str, agent: StaffUser, now: datetime) -> CallAttempt:
    """« Appeler »: start an attempt, then (when the adapter can) the agent-first bridge.

    With the console adapter the agent dials from the ``tel:`` link. A provider refusal closes the
    attempt with the right outcome (a wrong number, or no answer to try again later).
    """
    telephony = get_telephony()
    if telephony.capabilities.bridge and not agent.phone:
        raise CallNotPlaced(_("Indiquez d'abord votre numéro de téléphone dans votre profil : l'appel passe par lui."))
    attempt = assignment.start_attempt(reference, agent, now)
    if not telephony.capabilities.bridge:
        return attempt
    if not take_call_slot():
        # Over the account's calls per second: a worker places it in a moment ("en file").
        schedule_bridge(attempt.id, now + timedelta(seconds=1))
        return attempt
    start_bridge(attempt.id, now)
    return attempt


def take_call_slot() -> bool:
    """One of the ``TWILIO_CPS`` calls allowed this second, counted in Redis for all processes.
    Without Redis, the call goes ahead (Twilio queues calls over the limit anyway)."""
    key = f"chamber-callback:cps:{int(utcnow().timestamp())}"
    try:
        redis = get_redis()
        count = redis.incr(key)
        redis.expire(key, 2)
    except REDIS_ERRORS:
        return True
    return count <= current_app.config["TWILIO_CPS"]


def start_bridge(attempt_id: int, now: datetime) -> None:
    """Ask the provider to call the agent; a refusal closes the attempt with the right outcome."""
    attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
    if attempt is None or attempt.ended_at is not None or attempt.call_sid:
        return
    agent = db.session.get(StaffUser, attempt.agent_id)
    try:
        call_sid = get_telephony().start_bridge(attempt.id, agent.phone)
    except TelephonyError as error:
        # The artisan was not called: no outcome against them; the request goes back to the queue.
        log.warning("bridge refused for attempt %s: code=%s status=%s", attempt.id, error.code, error.http_status)
        if error.code in AGENT_NUMBER_CODES:
            note = ATTEMPT_NOTES["agent_number"]
            message = _("L'opérateur refuse votre numéro de téléphone : faites-le corriger dans votre profil. "
                        "La demande retourne dans la file.")
        else:
            code = error.code or error.http_status
            note = ATTEMPT_NOTES["bridge_failed"].format(code=code or "réseau")
            message = _("L'appel n'a pas pu être lancé (erreur %(code)s) : la demande retourne dans la file.",
                        code=code or _("réseau"))
        _release(attempt, now, note=note)
        raise CallNotPlaced(message) from error
    begin_write()
    db.session.execute(update(CallAttempt).where(CallAttempt.id == attempt.id).values(call_sid=call_sid)
                       .execution_options(synchronize_session=False))
    db.session.commit()


def reconcile_stuck_calls(now: datetime) -> int:
    """Bridged attempts without news for ``CALL_STUCK_MINUTES``: ask the provider; a call it
    says is over (or cannot find) closes like its callbacks would have, or goes back to the queue."""
    cutoff = now - timedelta(minutes=current_app.config["CALL_STUCK_MINUTES"])
    recent = select(CallEvent.id).where(CallEvent.attempt_id == CallAttempt.id, CallEvent.received_at >= cutoff)
    stuck = db.session.scalars(select(CallAttempt).where(
        CallAttempt.ended_at.is_(None), CallAttempt.call_sid.is_not(None), CallAttempt.started_at < cutoff,
        ~recent.exists())).all()
    db.session.commit()
    handled = 0
    for attempt in stuck:
        answered = attempt.artisan_status in ("in-progress", "answered", "completed") \
            and attempt.answered_by not in MACHINE_ANSWERS
        if answered:
            continue  # a person answered: the agent records how it went
        status = get_telephony().call_status(attempt.call_sid)
        if status not in FINAL_STATUSES:
            continue  # still going, or the provider cannot tell: leave it
        outcome = automatic_outcome(attempt.artisan_status or "", attempt.artisan_duration_s, attempt.answered_by)
        if outcome is not None:
            _close(attempt, outcome, now, ATTEMPT_NOTES["stuck"])
        else:
            _release(attempt, now)
        handled += 1
    if get_telephony().capabilities.bridge:
        # A bridge that never started (job lost, process killed before the provider answered).
        never_placed = db.session.scalars(select(CallAttempt).where(
            CallAttempt.ended_at.is_(None), CallAttempt.call_sid.is_(None), CallAttempt.started_at < cutoff)).all()
        db.session.commit()
        for attempt in never_placed:
            _release(attempt, now)
            handled += 1
    if handled:
        log.info("stuck calls: %d attempt(s) closed or given back", handled)
    return handled


def apply_call_event(attempt_id: int, leg: str, call_sid: str, status: str, now: datetime,
                     duration_s: int | None = None, answered_by: str | None = None) -> bool:
    """Record one status callback. Duplicates are ignored and a status never moves backwards;
    the artisan leg's final status closes the attempt by itself when nobody (or a machine)
    answered. Returns False for a duplicate."""
    begin_write()
    # The attempt's row first (before the event, whose foreign key would share-lock it): two callbacks
    # at the same instant (PostgreSQL) would otherwise each compare with the status the other has not
    # committed yet, and an earlier status could overwrite a final one.
    db.session.execute(select(CallAttempt.id).where(CallAttempt.id == attempt_id).with_for_update())
    inserted = db.session.scalar(
        insert_or_ignore(CallEvent, "call_sid", "status")
        .values(attempt_id=attempt_id, leg=leg, call_sid=call_sid, status=status, duration_s=duration_s,
                answered_by=answered_by, received_at=now)
        .returning(CallEvent.id))
    attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
    if inserted is None or attempt is None:
        db.session.commit()
        return False
    if leg == "agent":
        if moves_forward(attempt.agent_status, status):
            attempt.agent_status = status
    else:
        attempt.artisan_call_sid = attempt.artisan_call_sid or call_sid
        if answered_by:
            attempt.answered_by = answered_by
        if moves_forward(attempt.artisan_status, status):
            attempt.artisan_status = status
            if duration_s is not None:
                attempt.artisan_duration_s = duration_s
    db.session.commit()
    if attempt.ended_at is None:
        outcome = automatic_outcome(attempt.artisan_status or "", attempt.artisan_duration_s, attempt.answered_by)
        # The agent's phone did not answer, or the agent hung up without pressing 1.
        agent_gone = leg == "agent" and status in FINAL_STATUSES and attempt.artisan_status is None
        if outcome is not None:
            _close(attempt, outcome, now, ATTEMPT_NOTES["no_answer" if outcome.value == "no_answer" else "voicemail"])
        elif agent_gone:
            # The agent did not pick up: the artisan was never called; the request goes back.
            _release(attempt, now)
    return True


def record_answered_by(attempt_id: int, answered_by: str, now: datetime) -> None:
    """Answering-machine detection result for the artisan leg."""
    begin_write()
    db.session.execute(update(CallAttempt).where(CallAttempt.id == attempt_id).values(answered_by=answered_by)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
    if attempt is not None and attempt.ended_at is None:
        # The detection may come after the leg's final status: decide again with it.
        outcome = automatic_outcome(attempt.artisan_status or "", attempt.artisan_duration_s, answered_by)
        if outcome is not None:
            _close(attempt, outcome, now, ATTEMPT_NOTES["voicemail"])


def _close(attempt: CallAttempt, outcome, now: datetime, note: str) -> None:
    agent = db.session.get(StaffUser, attempt.agent_id)
    try:
        assignment.record_outcome(attempt.id, agent, outcome, now, note=note)
    except assignment.AssignmentConflict:
        db.session.rollback()  # the agent recorded it first: theirs stands


def _release(attempt: CallAttempt, now: datetime, note: str | None = None) -> None:
    begin_write()
    closed = db.session.execute(
        update(CallAttempt).where(CallAttempt.id == attempt.id, CallAttempt.ended_at.is_(None))
        .values(ended_at=now, note=note or ATTEMPT_NOTES["agent_unreached"])
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if closed:
        agent = db.session.get(StaffUser, attempt.agent_id)
        try:
            assignment.release_request(attempt.request_id, agent, now, reason="the agent's phone did not answer")
        except assignment.AssignmentConflict:
            db.session.rollback()
