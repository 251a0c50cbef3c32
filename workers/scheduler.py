"""Enqueue the periodic jobs of chamber_callback.periodic on time.

Each run of a job has a stable id (``<name>-<time bucket>``) enqueued with ``unique=True``,
so two schedulers running by mistake still enqueue each run once.

    python -m workers.scheduler         (Procfile: scheduler)
"""
import contextlib
import logging
import signal
import time
from datetime import datetime

from chamber_callback import create_app
from chamber_callback.clock import utcnow
from chamber_callback.periodic import PERIODIC_JOBS, PeriodicJob
from chamber_callback.queues import REDIS_ERRORS, beat_scheduler, enqueue_periodic
from workers.common import wait_for_redis

log = logging.getLogger("workers.scheduler")


def enqueue_due(job: PeriodicJob, connection, now: datetime) -> bool:
    """Enqueue this period's run of ``job`` unless it already was. True when enqueued."""
    return enqueue_periodic(job.name, job.func, job.queue, job.every_seconds, connection, now)


def main() -> None:
    app = create_app()
    connection = app.extensions["redis"]
    wait_for_redis(connection)
    running = True

    def stop(*_args):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("scheduler started: %s", ", ".join(f"{j.name} every {j.every_seconds}s" for j in PERIODIC_JOBS))
    last_bucket: dict[str, int] = {}
    while running:
        now = utcnow()
        with contextlib.suppress(*REDIS_ERRORS):  # said below, for each job not enqueued
            beat_scheduler(connection, now)
        for job in PERIODIC_JOBS:
            bucket = int(now.timestamp() // job.every_seconds)
            if last_bucket.get(job.name) == bucket:
                continue
            try:
                if enqueue_due(job, connection, now):
                    log.info("enqueued %s", job.name)
                last_bucket[job.name] = bucket
            except REDIS_ERRORS as exc:
                log.warning("Redis unavailable, %s not enqueued: %s", job.name, type(exc).__name__)
        time.sleep(1)


if __name__ == "__main__":
    main()
