"""RQ job functions. They take ids, load fresh state, and are safe to run twice."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask, has_app_context
from rq import get_current_job

from .clock import utcnow
from .extensions import db
from .logging_setup import REQUEST_ID

log = logging.getLogger(__name__)
_worker_app: Flask | None = None


@contextmanager
def app_context() -> Iterator[None]:
    """Jobs run inside the caller's app context (tests) or a per-process app (workers), and log
    under the id of the request that enqueued them."""
    job = get_current_job()
    token = REQUEST_ID.set(job.meta.get("request_id") if job is not None else None)
    try:
        with _app():
            yield
    finally:
        REQUEST_ID.reset(token)


@contextmanager
def _app() -> Iterator[None]:
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



def assign_request(request_id: int) -> str:
    """Offer a queued request to its best available agent (job id ``assign-<id>``)."""
    from .services.assignment import assign_request as assign

    with app_context():
        agent_id = assign(request_id, utcnow())
        outcome = f"offered to agent {agent_id}" if agent_id else "waiting"
        log.info("assignment of request %s: %s", request_id, outcome)
        return outcome


def expire_offer(offer_id: int) -> bool:
    """Scheduled at the offer's deadline: give the request to the next candidate."""
    from .services.assignment import expire_offer as expire

    with app_context():
        return expire(offer_id, utcnow())


def requeue_request(request_id: int) -> bool:
    """Scheduled at a retry or follow-up time: the request goes back to the queue."""
    from .services.assignment import requeue_due

    with app_context():
        return bool(requeue_due(utcnow(), request_id=request_id))


def dispatch_tick() -> dict:
    """Periodic: expiries, retries, overflow, and offers to idle agents (repairs lost jobs)."""
    from .services.assignment import dispatch_tick as tick
    from .services.calls import reconcile_stuck_calls

    with app_context():
        counts = tick(utcnow())
        counts["stuck_calls"] = reconcile_stuck_calls(utcnow())
        return counts


def sla_tick() -> dict:
    """Periodic: fire the escalation levels that are due, retry failed e-mails."""
    from .services.notifications import send_pending_emails
    from .services.sla import sla_tick as tick

    with app_context():
        counts = tick(utcnow())
        counts.update(send_pending_emails())
        return counts


def eta_tick() -> dict:
    """Every minute: recompute the expected callback windows, unit by unit."""
    from .services.eta import recompute

    with app_context():
        return recompute(utcnow())


def purge_personal_data() -> dict:
    """Hourly: erase what is past its retention period, by kind (requests, notes, messages, audit)."""
    from .services.retention import purge_all

    with app_context():
        return purge_all(utcnow())


def prefecture_report_tick() -> str:
    """Every few minutes: from PREFECTURE_REPORT_TIME, e-mail yesterday's needs report, once per day."""
    from .services.needs_report import send_daily_report

    with app_context():
        return send_daily_report(utcnow())


def close_finished_campaigns() -> int:
    """Every few minutes: close the campaigns whose period is over."""
    from .services.campaigns import close_finished

    with app_context():
        return close_finished(utcnow())


def import_campaign_contacts(import_id: int) -> str:
    """A campaign's contacts file, imported in chunks (the page shows the progress)."""
    from .services.campaign_import import run_job

    with app_context():
        return run_job(import_id, utcnow())


def bridge_call(attempt_id: int) -> str:
    """Place a bridged call that waited for a free slot (calls per second)."""
    from .queues import schedule_bridge
    from .services.calls import CallNotPlaced, start_bridge, take_call_slot

    with app_context():
        if not take_call_slot():
            schedule_bridge(attempt_id, utcnow() + timedelta(seconds=1))
            return "waiting"
        try:
            start_bridge(attempt_id, utcnow())
        except CallNotPlaced:
            return "refused"  # the attempt is closed with its outcome; the console shows it
        return "placed"


def simulate_call(attempt_id: int) -> str:
    """Console simulator: play the status events of a call, as Twilio would send them."""
    from .models import CallAttempt
    from .services.calls import apply_call_event
    from .telephony import get_telephony
    from .telephony.console import simulated_events, simulated_result, simulated_sid

    with app_context():
        attempt = db.session.get(CallAttempt, attempt_id)
        if attempt is None or attempt.ended_at is not None:
            return "skipped"
        result = simulated_result(attempt_id, get_telephony().weights)
        for leg, status, duration, answered_by in simulated_events(result):
            # The job may run before the bridge's commit stored the call id: it is known anyway.
            sid = (attempt.call_sid or simulated_sid(attempt_id)) if leg == "agent" else f"SIMA{attempt_id:031d}"
            apply_call_event(attempt_id, leg, sid, status, utcnow(), duration_s=duration, answered_by=answered_by)
        return result


def send_artisan_message(message_id: int) -> str:
    """Send one text message or e-mail to an artisan (once, even if the job runs twice)."""
    from .services.messages import send_message

    with app_context():
        return send_message(message_id, utcnow())


def send_offer_push(offer_id: int) -> int:
    """Web Push to the browsers of the agent an offer was made to (job id ``push-offer-<id>``)."""
    from .services.push import send_offer

    with app_context():
        return send_offer(offer_id, utcnow())


def reconcile_job() -> int:
    """Periodic job: enqueue what Redis lost, send messages whose job was lost."""
    from .services.messages import send_pending
    from .services.reconcile import reconcile

    with app_context():
        count = reconcile(utcnow())
        send_pending(utcnow())
        return count
