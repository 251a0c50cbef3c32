"""The periodic dispatch tick: repairs what a lost job would have done, and moves work on."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from ...domain.actors import SYSTEM
from ...domain.lifecycle import Status
from ...domain.routing import Availability, should_overflow
from ...extensions import db
from ...models import CallbackRequest, Offer, StaffUser
from ...queues import enqueue_assignment
from ..audit import record_event
from ..unit_of_work import unit_of_work
from .attempts import requeue_due
from .common import Settings
from .offers import expire_offer, offer_next_to_agent

log = logging.getLogger(__name__)


def dispatch_tick(now: datetime) -> dict[str, int]:
    """Expire overdue offers, requeue due retries, overflow long waits, and offer waiting work to
    every agent with room. Idempotent; safe with several workers."""
    settings = Settings.from_config()
    counts = {"expired": 0, "requeued": 0, "overflowed": 0, "offered": 0}
    overdue = db.session.scalars(select(Offer.id).where(Offer.status == "pending", Offer.expires_at <= now)).all()
    db.session.commit()
    counts["expired"] = sum(expire_offer(offer_id, now) for offer_id in overdue)
    counts["requeued"] = len(requeue_due(now))
    counts["overflowed"] = overflow_waiting(now, settings)
    agent_ids = db.session.scalars(select(StaffUser.id).where(
        StaffUser.availability == Availability.AVAILABLE.value, StaffUser.is_active_account.is_(True))).all()
    db.session.commit()
    for agent_id in agent_ids:
        if offer_next_to_agent(agent_id, now) is not None:
            counts["offered"] += 1
    log.info("dispatch tick: %s", ", ".join(f"{k}={v}" for k, v in counts.items()))
    return counts


def overflow_waiting(now: datetime, settings: Settings) -> int:
    """Requests no agent of their unit took in time may go to any unit (their deadline stays)."""
    cutoff = now - settings.overflow_after
    moved = 0
    with unit_of_work() as work:
        waiting = db.session.scalars(select(CallbackRequest).where(
            CallbackRequest.status == Status.QUEUED.value, CallbackRequest.overflow_at.is_(None),
            CallbackRequest.campaign_id.is_(None),  # a campaign calls within the units it covers
            CallbackRequest.queued_at <= cutoff,
        ).limit(500)).all()
        for request in waiting:
            if should_overflow(request.queued_at, now, settings.overflow_after):
                request.overflow_at = now
                record_event(request_id=request.id, action="request.overflow", actor=SYSTEM, now=now,
                             reason=f"no agent of the unit within {settings.overflow_after}")
                work.after_commit(enqueue_assignment, request.id)
                moved += 1
    return moved
