"""Repair what Redis lost: every waiting request gets exactly one live assignment job."""
from __future__ import annotations

import logging
from datetime import datetime

from rq.registry import clean_registries
from sqlalchemy import select, update

from ..domain.lifecycle import Status
from ..extensions import begin_write, db
from ..models import CallbackRequest
from ..queues import ASSIGNMENT_QUEUE, assignment_job_id, enqueue_assignment, get_queue, get_redis, job_needs_enqueue
from .queue import CALLBACKS

log = logging.getLogger(__name__)


def reconcile(now: datetime) -> int:
    """Enqueue every queued request not yet processed that has no live job in Redis.

    Idempotent: a second run finds the jobs the first one made and enqueues nothing.
    Returns how many requests were (re-)enqueued. Raises redis errors when Redis is down,
    so the caller (CLI or periodic job) reports the failure instead of claiming success.
    """
    pending = db.session.execute(
        select(CallbackRequest.id, CallbackRequest.enqueued_at).where(
            CallbackRequest.status == Status.QUEUED.value,
            CallbackRequest.assignment_checked_at.is_(None),
            CALLBACKS,  # a campaign's contacts are given to agents who ask for work, never pushed
        ).order_by(CallbackRequest.id)
    ).all()
    db.session.commit()  # end the read transaction before talking to Redis
    get_redis().ping()
    # Let RQ notice jobs whose worker died (stale heartbeat) now rather than at its next
    # maintenance: they turn FAILED and are enqueued again below.
    clean_registries(get_queue(ASSIGNMENT_QUEUE))
    repaired: list[int] = []
    for request_id, enqueued_at in pending:
        if enqueued_at is not None and not job_needs_enqueue(assignment_job_id(request_id)):
            continue
        if enqueue_assignment(request_id):
            repaired.append(request_id)
    if repaired:
        begin_write()
        db.session.execute(
            update(CallbackRequest).where(CallbackRequest.id.in_(repaired)).values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    log.info("reconcile: %d waiting request(s) checked, %d enqueued", len(pending), len(repaired))
    return len(repaired)

