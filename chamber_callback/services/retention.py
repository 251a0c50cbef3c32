"""Retention of personal data (RGPD), by kind, and the one way to anonymise a request.

- requests: name, business, phone, e-mail, SIRET, postal code and question are erased once the
  request has been closed for ``RETENTION_DAYS`` (dates, unit, topic and SLA figures stay for
  the reports);
- agents' call notes (and the timeline reasons they were copied into), ``RETENTION_NOTES_DAYS``
  after the attempt;
- texts and e-mails sent to artisans, ``RETENTION_MESSAGES_DAYS`` after sending, and the caller's
  number and choices kept for a call to the phone line, as long after the call;
- audit details (free-text reasons, records of who read personal data), ``RETENTION_AUDIT_DAYS``.

``anonymise`` is shared with the erasure an artisan or the DPO asks for (``services.data_rights``).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, null, select, update

from ..domain.actors import STAFF, SYSTEM
from ..extensions import db
from ..models import ArtisanMessage, AuditEvent, CallAttempt, CallbackRequest, InboundCall
from .unit_of_work import unit_of_work

log = logging.getLogger(__name__)
ERASED = "—"
READ_ACTION = "personal_data.read"


def anonymise(ids: list[int], now: datetime, why: str) -> None:
    """Erase the personal data of these requests, in the caller's transaction (statistics stay)."""
    db.session.execute(
        update(CallbackRequest).where(CallbackRequest.id.in_(ids), CallbackRequest.purged_at.is_(None)).values(
            name=ERASED, business_name=ERASED, siret=None, email=None, description=ERASED,
            phone=ERASED,  # closed requests are outside the one-active-per-phone index
            postal_code="00000", commune_insee=None, commune_name=None, urgency_reason=None, purged_at=now,
        ).execution_options(synchronize_session=False))
    db.session.execute(update(CallAttempt).where(CallAttempt.request_id.in_(ids)).values(note=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(ArtisanMessage).where(ArtisanMessage.request_id.in_(ids)).values(body=ERASED)
                       .execution_options(synchronize_session=False))
    forget_calls(InboundCall.request_id.in_(ids))
    # Outcome notes were copied into the timeline's "reason": erase them too.
    db.session.execute(update(AuditEvent).where(AuditEvent.request_id.in_(ids), AuditEvent.actor_type == STAFF)
                       .values(reason=None).execution_options(synchronize_session=False))
    db.session.execute(AuditEvent.__table__.insert(), [
        {"created_at": now, "request_id": request_id, "actor_type": SYSTEM.type, "actor_id": SYSTEM.id,
         "action": "request.personal_data_erased", "reason": why} for request_id in ids])


def forget_calls(condition) -> int:
    """The caller's number and choices of phone line calls (their step and outcome stay, for the
    line's figures)."""
    return db.session.execute(update(InboundCall).where(condition, InboundCall.caller.is_not(None)
                                                        | InboundCall.choices.is_not(None))
                              .values(caller=None, choices=null()).execution_options(synchronize_session=False)
                              ).rowcount


def purge_personal_data(now: datetime, retention_days: int, batch: int = 1000, dry_run: bool = False) -> int:
    """Erase the personal data of requests closed more than ``retention_days`` ago. Idempotent."""
    cutoff = now - timedelta(days=retention_days)
    ids = db.session.scalars(select(CallbackRequest.id).where(
        CallbackRequest.closed_at < cutoff, CallbackRequest.purged_at.is_(None)).order_by(CallbackRequest.id)
        .limit(batch)).all()
    db.session.commit()
    if dry_run or not ids:
        return len(ids)
    with unit_of_work():
        anonymise(list(ids), now, f"closed more than {retention_days} days ago")
    log.info("retention: personal data of %d request(s) erased", len(ids))
    return len(ids)


def purge_details(now: datetime, notes_days: int, messages_days: int, audit_days: int) -> dict[str, int]:
    """The shorter-lived kinds: call notes, message bodies, audit details and read records."""
    with unit_of_work():
        notes = db.session.execute(
            update(CallAttempt).where(CallAttempt.started_at < now - timedelta(days=notes_days),
                                      CallAttempt.note.is_not(None)).values(note=None)
            .execution_options(synchronize_session=False)).rowcount
        db.session.execute(
            update(AuditEvent).where(AuditEvent.actor_type == STAFF, AuditEvent.reason.is_not(None),
                                     AuditEvent.request_id.is_not(None),
                                     AuditEvent.created_at < now - timedelta(days=notes_days))
            .values(reason=None).execution_options(synchronize_session=False))
        messages = db.session.execute(
            update(ArtisanMessage).where(ArtisanMessage.created_at < now - timedelta(days=messages_days),
                                         ArtisanMessage.body != ERASED).values(body=ERASED)
            .execution_options(synchronize_session=False)).rowcount
        calls = forget_calls(InboundCall.started_at < now - timedelta(days=messages_days))
        reads = db.session.execute(
            delete(AuditEvent).where(AuditEvent.action == READ_ACTION,
                                     AuditEvent.created_at < now - timedelta(days=audit_days))
            .execution_options(synchronize_session=False)).rowcount
        details = db.session.execute(
            update(AuditEvent).where(AuditEvent.created_at < now - timedelta(days=audit_days),
                                     AuditEvent.reason.is_not(None)).values(reason=None)
            .execution_options(synchronize_session=False)).rowcount
    counts = {"notes": notes, "messages": messages, "calls": calls, "reads": reads, "details": details}
    if any(counts.values()):
        log.info("retention: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def purge_all(now: datetime) -> dict[str, int]:
    """Every kind, with the configured periods (the hourly job and the command)."""
    config = current_app.config
    counts = purge_details(now, config["RETENTION_NOTES_DAYS"], config["RETENTION_MESSAGES_DAYS"],
                           config["RETENTION_AUDIT_DAYS"])
    counts["requests"] = 0
    while count := purge_personal_data(now, config["RETENTION_DAYS"]):
        counts["requests"] += count
    return counts
