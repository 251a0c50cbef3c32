"""RQ job functions. They take ids, load fresh state, and are safe to run twice."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

from flask import Flask, has_app_context
from sqlalchemy import update

from .domain.lifecycle import Status
from .extensions import begin_write, db
from .models import CallbackRequest

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


@contextmanager
def app_context() -> Iterator[None]:
    """Jobs run inside the caller's app context (tests) or a per-process app (workers)."""
    global _worker_app
    if has_app_context():
        yield
        return
    if _worker_app is None:
        from . import create_app

        _worker_app = create_app()
    with _worker_app.app_context():
        try:
            yield
        finally:
            db.session.remove()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def assign_request(request_id: int) -> str:
    """Assignment job for one request (job id ``assign-<id>``).

    The routing engine that offers the request to an agent is the next capability to be
    built. Until then this job only records, on the request, that the queue delivered it
    (``assignment_checked_at``), which is what the reconciler and the tests rely on.
    """
    with app_context():
        begin_write()
        matched = db.session.execute(
            update(CallbackRequest)
            .where(CallbackRequest.id == request_id, CallbackRequest.status == Status.QUEUED.value)
            .values(assignment_checked_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        outcome = "checked" if matched else "skipped"
        log.info("assignment job for request %s: %s", request_id, outcome)
        return outcome


def reconcile_job() -> int:
    """Periodic job: enqueue what Redis lost (see services.reconcile)."""
    from .services.reconcile import reconcile

    with app_context():
        return reconcile(utcnow())
