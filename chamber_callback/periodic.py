"""Periodic jobs, declared as data; workers/scheduler.py enqueues them on time."""
from dataclasses import dataclass

from .queues import TICKS_QUEUE


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str  # dotted path, so the scheduler never imports job code
    every_seconds: int
    queue: str = TICKS_QUEUE


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    # Re-enqueue what Redis lost (requests accepted while Redis was down, flushed data).
    PeriodicJob("reconcile", "chamber_callback.jobs.reconcile_job", every_seconds=60),
    # Offer expiries, retries and overflow, and offers to idle agents, should a scheduled job be lost.
    PeriodicJob("dispatch", "chamber_callback.jobs.dispatch_tick", every_seconds=15),
    # Escalation levels due (50 % / 75 % / breach / reminders) and e-mails that failed before.
    PeriodicJob("sla", "chamber_callback.jobs.sla_tick", every_seconds=30),
    # The expected callback windows of every waiting request (domain.eta).
    PeriodicJob("eta", "chamber_callback.jobs.eta_tick", every_seconds=60),
    # Personal data past the retention period (RGPD).
    PeriodicJob("retention", "chamber_callback.jobs.purge_personal_data", every_seconds=3600),
    # Yesterday's anonymised needs report to the prefecture, once a day from PREFECTURE_REPORT_TIME.
    PeriodicJob("prefecture_report", "chamber_callback.jobs.prefecture_report_tick", every_seconds=300),
    # Campaigns past their last call window are closed, their waiting contacts taken out.
    PeriodicJob("campaigns", "chamber_callback.jobs.close_finished_campaigns", every_seconds=300),
)
