"""Retention of personal data (RGPD): erase what identifies the artisan once the request has
been closed for ``RETENTION_DAYS``; keep what reports need (dates, unit, topic, SLA figures)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..domain.actors import STAFF, SYSTEM
from ..extensions import begin_write, db
from ..models import ArtisanMessage, AuditEvent, CallAttempt, CallbackRequest

log = logging.getLogger(__name__)
ERASED = "—"


def purge_personal_data(now: datetime, retention_days: int, batch: int = 1000, dry_run: bool = False) -> int:
    """Erase the personal data of requests closed more than ``retention_days`` ago. Idempotent."""
    cutoff = now - timedelta(days=retention_days)
    ids = db.session.scalars(select(CallbackRequest.id).where(
        CallbackRequest.closed_at < cutoff, CallbackRequest.purged_at.is_(None)).order_by(CallbackRequest.id)
        .limit(batch)).all()
    db.session.commit()
    if dry_run or not ids:
        return len(ids)
    begin_write()
    db.session.execute(
        update(CallbackRequest).where(CallbackRequest.id.in_(ids), CallbackRequest.purged_at.is_(None)).values(
            name=ERASED, business_name=ERASED, siret=None, email=None, description=ERASED,
            phone=ERASED,  # closed requests are outside the one-active-per-phone index
            postal_code="00000", commune_insee=None, commune_name=None, purged_at=now,
        ).execution_options(synchronize_session=False))
    db.session.execute(update(CallAttempt).where(CallAttempt.request_id.in_(ids)).values(note=None)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(ArtisanMessage).where(ArtisanMessage.request_id.in_(ids)).values(body=ERASED)
                       .execution_options(synchronize_session=False))
    # Outcome notes were copied into the timeline's "reason": erase them too.
    db.session.execute(update(AuditEvent).where(AuditEvent.request_id.in_(ids), AuditEvent.actor_type == STAFF)
                       .values(reason=None).execution_options(synchronize_session=False))
    db.session.execute(AuditEvent.__table__.insert(), [
        {"created_at": now, "request_id": request_id, "actor_type": SYSTEM.type, "actor_id": SYSTEM.id,
         "action": "request.personal_data_erased", "reason": f"closed more than {retention_days} days ago"}
        for request_id in ids])
    db.session.commit()
    log.info("retention: personal data of %d request(s) erased", len(ids))
    return len(ids)
