"""Submitting, following and cancelling a callback request."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context
from flask_babel import get_locale
from sqlalchemy import func, or_, select, update

from ..domain.actors import SYSTEM, Actor
from ..domain.intake import Intake
from ..domain.lifecycle import ACTIVE_STATUSES, Status
from ..domain.reference import new_reference, new_status_token, token_digest
from ..domain.sla import sla_deadline
from ..extensions import column_values, db, insert_or_ignore
from ..models import CallbackRequest, Offer
from ..queues import cancel_offer_expiry, enqueue_assignment, enqueue_message
from . import eta, reference
from .audit import record_event
from .lifecycle import transition
from .messages import add_message
from .queue import CALLBACKS, ahead_of
from .sla import first_escalation_at, unit_calendar
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
# Channels where the artisan fills the form (or a partner's form) in: their language is the request's.
ARTISAN_CHANNELS = ("web", "api")


@dataclass(frozen=True)
class Submission:
    request: CallbackRequest
    created: bool
    token: str | None  # only known when the request was just created (only its digest is stored)
    enqueued: bool
    reminded: bool = False  # a duplicate: its private link was sent again to the contact details on file


class UnknownTopic(LookupError):
    pass


def submission_locale(channel: str) -> str | None:
    """The language of the page or API call the artisan's request comes from (its texts and e-mails
    are written in it); None (French) for the phone line, staff conversions and commands."""
    if channel.split(":")[0] not in ARTISAN_CHANNELS or not has_request_context():
        return None
    locale = get_locale()
    return str(locale) if locale is not None else None


def active_request_for_phone(phone: str) -> CallbackRequest | None:
    return db.session.scalar(
        select(CallbackRequest).where(
            CallbackRequest.phone == phone,
            CallbackRequest.status.in_([s.value for s in ACTIVE_STATUSES]),
            CALLBACKS,
        )
    )


def find_by_token(token: str) -> CallbackRequest | None:
    if not token or len(token) > 128:
        return None
    digest = token_digest(token)
    return db.session.scalar(select(CallbackRequest).where(
        or_(CallbackRequest.token_digest == digest, CallbackRequest.reminder_token_digest == digest)))


def submit_request(intake: Intake, *, actor: Actor, now: datetime, sla_hours: float,
                   requester_token: str | None = None) -> Submission:
    """Store the request (or find the active one for this phone), commit, then enqueue it.

    The partial unique index on the phone of active requests decides races: two
    simultaneous submissions produce one row, and both callers get it.

    A second submission for a phone that has an active request learns nothing about it: its private
    link is sent again to the contact details on file (at most once every few hours), unless the
    submitter already holds that link (``requester_token``: a double tap in the same browser).
    """
    topic = reference.active_topic(intake.topic)
    if topic is None:
        raise UnknownTopic(intake.topic)
    departement = reference.departement(intake.commune.departement)
    if departement is None:
        raise LookupError(f"departement {intake.commune.departement} has no regional unit")
    topic_id, unit_id = topic.id, departement.unit_id
    calendar = unit_calendar(unit_id, departement.code)

    token = new_status_token()
    draft = _new_request(intake, token=token, topic_id=topic_id, unit_id=unit_id, now=now, sla_hours=sla_hours,
                         calendar=calendar)
    # Its window is worked out before the write transaction (on SQLite, before taking the write lock,
    # which every submission waits for): read from the queue as it is, an estimate the periodic
    # recompute corrects within its period.
    eta.store_first(draft, eta.window_for_new(draft, now), now)
    # The new request stays loaded once committed: the answer is built from it without reading it back.
    with unit_of_work(keep_loaded=True) as work:
        request, existing = _insert_request(draft)
        if request is not None:
            record_event(request_id=request.id, action="request.submitted", actor=actor, now=now,
                         to_status=Status.QUEUED.value,
                         data={"channel": intake.channel, "urgent": intake.urgent, "topic": intake.topic})
            work.after_commit(enqueue_message, add_message(request, "confirmation", now, token=token))
            assigned = work.after_commit(_enqueue_new, request.id, now)
        reminded = False
        if existing is not None:
            request = token = None
            # One duplicate at a time per request (PostgreSQL): the reminder below rewrites a unique
            # column of this row, which would deadlock with another duplicate's audit event.
            db.session.execute(select(CallbackRequest.id).where(CallbackRequest.id == existing.id).with_for_update())
            record_event(request_id=existing.id, action="request.duplicate_submission", actor=actor, now=now,
                         data={"channel": intake.channel, "urgent": intake.urgent, "topic": intake.topic})
            if not holds_link(existing, requester_token):
                reminded = _send_reminder(existing, now, work)
    if request is None:
        log.info("duplicate submission for request %s (reminder sent: %s)", existing.reference, reminded)
        return Submission(existing, created=False, token=None, enqueued=existing.enqueued_at is not None,
                          reminded=reminded)
    enqueued = bool(work.results[assigned])
    log.info("request %s submitted (unit %s, urgent=%s, enqueued=%s)", request.reference, unit_id, intake.urgent,
             enqueued)
    return Submission(request, created=True, token=token, enqueued=enqueued)


def _insert_request(draft: CallbackRequest) -> tuple[CallbackRequest | None, CallbackRequest | None]:
    """Insert the new request, written once with its first window (the confirmation says it):
    (it, None); or (None, the active request for the same phone that a concurrent submission
    committed first).

    ``INSERT … ON CONFLICT DO NOTHING RETURNING``: the partial unique index on active phones decides
    races (PostgreSQL waits for the other transaction, then inserts nothing), with no savepoint and
    no read before the insert; a phone's second submission is the rare case that reads. A reference
    collision, or a winner already closed again, draws another reference and tries again."""
    values = column_values(draft)
    for _attempt in range(5):
        stored = db.session.scalars(insert_or_ignore(CallbackRequest).values(values)
                                    .returning(CallbackRequest)).first()
        if stored is not None:
            return stored, None
        existing = active_request_for_phone(draft.phone)
        if existing is not None:
            return None, existing
        values["reference"] = new_reference()
    raise RuntimeError("could not draw a unique reference")  # pragma: no cover - five collisions in a row


def holds_link(request: CallbackRequest, token: str | None) -> bool:
    """Whether ``token`` is one of the request's private links."""
    return bool(token) and token_digest(token) in (request.token_digest, request.reminder_token_digest)


def _send_reminder(request: CallbackRequest, now: datetime, work) -> bool:
    """The private link, sent again to the artisan's own phone or e-mail (a new link, the first one
    keeps working). False when one was already sent within ``messages.REMINDER_EVERY``."""
    token = new_status_token()
    message_id = add_message(request, "reminder", now, token=token)
    if message_id is None:
        return False
    request.reminder_token_digest = token_digest(token)
    record_event(request_id=request.id, action="request.link_reminded", actor=SYSTEM, now=now)
    work.after_commit(enqueue_message, message_id)
    return True


def _enqueue_new(request_id: int, now: datetime) -> bool:
    # ``enqueued_at`` was written with the request (one commit per submission): when Redis is down
    # here, the reconciler finds no job for it and enqueues it then.
    return enqueue_assignment(request_id)


def _new_request(intake: Intake, *, token: str, topic_id: int, unit_id: int, now: datetime,
                 sla_hours: float, calendar) -> CallbackRequest:
    request = CallbackRequest(
        reference=new_reference(),
        token_digest=token_digest(token),
        status=Status.QUEUED.value,
        name=intake.name,
        business_name=intake.business_name,
        siret=intake.siret,
        sector=intake.sector,
        phone=intake.phone,
        email=intake.email,
        postal_code=intake.postal_code,
        commune_insee=intake.commune.insee if intake.commune_confirmed else None,
        commune_name=intake.commune.name if intake.commune_confirmed else None,
        departement_code=intake.commune.departement,
        unit_id=unit_id,
        topic_id=topic_id,
        description=intake.description,
        urgent=intake.urgent,
        no_sms=intake.no_sms,
        urgency_reason=intake.urgency_reason if intake.urgent else None,
        preferred_start=intake.preferred_start,
        preferred_end=intake.preferred_end,
        channel=intake.channel,
        locale=submission_locale(intake.channel),
        consent_at=now if intake.consent else None,
        submitted_at=now,
        queued_at=now,
        enqueued_at=now,
        sla_deadline=sla_deadline(now, sla_hours, intake.preferred_end, calendar),
        priority=0,
    )
    request.next_escalation_at = first_escalation_at(request, calendar)
    return request


def cancel_request(request: CallbackRequest, *, actor: Actor, now: datetime, reason: str | None = None) -> bool:
    """Withdraw a request at the artisan's wish; False when it can no longer be cancelled."""
    with unit_of_work() as work:
        db.session.refresh(request)
        done = transition(request, Status.CANCELLED, actor=actor, now=now, reason=reason, action="request.cancelled")
        if done:
            # An agent may have it on screen as an offer: withdraw it, it is not the agent's miss, and the
            # request stays cancelled (not back in the queue).
            for offer_id in db.session.scalars(update(Offer).where(Offer.request_id == request.id,
                                                                   Offer.status == "pending")
                                               .values(status="withdrawn", responded_at=now).returning(Offer.id)
                                               .execution_options(synchronize_session=False)).all():
                work.after_commit(cancel_offer_expiry, offer_id)
            request.assigned_agent_id = None
    return done


def queue_position(request: CallbackRequest) -> int | None:
    """How many waiting requests of the same unit come before this one, in the queue order."""
    if request.status != Status.QUEUED.value:
        return None
    return db.session.scalar(
        select(func.count()).select_from(CallbackRequest).where(
            CallbackRequest.unit_id == request.unit_id,
            CallbackRequest.status == Status.QUEUED.value,
            CALLBACKS,
            CallbackRequest.id != request.id,
            ahead_of(request),
        )
    )
