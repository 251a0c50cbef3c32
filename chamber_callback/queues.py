"""Queue names, every job id and every enqueue: no other module builds a job id or enqueues.

The database is the truth and Redis carries work: callers commit first, then enqueue (a
``services.unit_of_work`` runs these after its commit). Enqueueing never raises for a Redis
outage; it reports False, and the reconciler or the periodic ticks do the work a little later.
"""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import redis
from flask import current_app
from rq import Queue, Worker
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

log = logging.getLogger(__name__)

# Workers take the queues in this order. What an agent is waiting for comes first (offers, their
# expiry, retries, a call's bridge, an offer's push): in a crisis the messages queue holds thousands
# of confirmations, and an agent's call must not wait behind them.
ASSIGNMENT_QUEUE = "assignment"
TICKS_QUEUE = "ticks"
MESSAGES_QUEUE = "messages"  # texts and e-mails to artisans
ALL_QUEUES = (ASSIGNMENT_QUEUE, TICKS_QUEUE, MESSAGES_QUEUE)
JOBS = "chamber_callback.jobs."  # job functions are named by path: enqueuers never import job code
# RQ schedules in whole seconds and may run a job up to a second early.
SCHEDULE_SLACK = timedelta(seconds=1)
ORPHAN_AFTER = timedelta(seconds=10)  # popped by a worker longer ago than this, and never started

TERMINAL_JOB_STATES = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
# Any Redis failure (down, read-only, out of memory): work is deferred to the reconciler.
REDIS_ERRORS = (redis.exceptions.RedisError,)


def connect_redis(url: str) -> redis.Redis:
    # Short timeouts: an unreachable Redis must not stall a web request.
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2, health_check_interval=30)


def get_redis() -> redis.Redis:
    return current_app.extensions["redis"]


def get_queue(name: str, connection: redis.Redis | None = None) -> Queue:
    return Queue(name, connection=connection or get_redis(), serializer=JSONSerializer)


def assignment_job_id(request_id: int) -> str:
    return f"assign-{request_id}"


def job_needs_enqueue(job_id: str, connection: redis.Redis | None = None) -> bool:
    """True when the job is gone, failed, stopped, cancelled or orphaned: not when it waits, runs or
    finished (a job that finished between the caller's read and this check must not run again)."""
    try:
        job = Job.fetch(job_id, connection=connection or get_redis(), serializer=JSONSerializer)
    except NoSuchJobError:
        return True
    return job.get_status(refresh=False) in TERMINAL_JOB_STATES - {JobStatus.FINISHED} or is_orphan(job)


def is_orphan(job: Job) -> bool:
    """A job that nothing will ever run or finish:

    - marked ``queued`` but in no queue: a worker listening on several queues pops it (BLPOP) before
      marking it started, and one killed in between leaves it so, with no TTL. A job popped a moment
      ago is not one yet (ORPHAN_AFTER);
    - marked ``started`` by a worker that is gone: killed on this host (its process no longer
      exists), or anywhere once its heartbeat has expired (``RQ_WORKER_TTL`` + 60 s). RQ itself
      would only fail it once its timeout has passed, minutes later.
    """
    status = job.get_status(refresh=False)
    if status == JobStatus.STARTED:
        return not _worker_alive(job)
    if status != JobStatus.QUEUED:
        return False
    queue = get_queue(job.origin, job.connection)
    if job.connection.lpos(queue.key, job.id) is not None or \
            job.connection.lpos(queue.intermediate_queue_key, job.id) is not None:
        return False
    enqueued = job.enqueued_at
    if enqueued is None:
        return True
    return datetime.now(UTC) - enqueued.replace(tzinfo=enqueued.tzinfo or UTC) > ORPHAN_AFTER


def _worker_alive(job: Job) -> bool:
    if not job.worker_name:
        return True  # marked started by something else than a worker: not ours to judge
    key = Worker.redis_worker_namespace_prefix + job.worker_name
    hostname, pid = job.connection.hmget(key, "hostname", "pid")
    if hostname is None:
        return False  # its heartbeat expired, or it said goodbye without finishing the job
    if hostname.decode() == socket.gethostname() and pid:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # someone else's process
    return True


def enqueue_once(queue: Queue, func: Callable | str, *args, job_id: str, **kwargs) -> Job:
    """Enqueue under a stable id; a job already waiting or running under that id is kept.

    RQ's ``unique=True`` refuses an id whose hash exists in any state, including finished
    or failed ones that linger for their TTL: those are deleted and the job enqueued anew.
    """
    kwargs.setdefault("failure_ttl", 7 * 24 * 3600)
    kwargs.setdefault("result_ttl", 3600)
    kwargs.setdefault("meta", _trace())
    for _ in range(3):
        try:
            return queue.enqueue(func, *args, job_id=job_id, unique=True, **kwargs)
        except DuplicateJobError:
            try:
                job = Job.fetch(job_id, connection=queue.connection, serializer=queue.serializer)
            except NoSuchJobError:
                continue  # expired in between
            if job.get_status() not in TERMINAL_JOB_STATES and not is_orphan(job):
                return job
            job.delete()
    raise RuntimeError(f"could not enqueue {job_id}")


def _trace() -> dict:
    """What a job carries of the request that enqueued it: its id, for the logs."""
    from .logging_setup import REQUEST_ID

    request_id = REQUEST_ID.get()
    return {"request_id": request_id} if request_id else {}


def schedule_job(func: str, *args, job_id: str, at: datetime, queue: str = ASSIGNMENT_QUEUE) -> bool:
    """Run ``func`` at ``at`` (RQ's scheduler). False when Redis is down: the periodic tick
    does the same work, a little later, so nothing is lost."""
    try:
        get_queue(queue).enqueue_at(at, func, *args, job_id=job_id, result_ttl=3600, failure_ttl=7 * 24 * 3600,
                                    meta=_trace())
    except REDIS_ERRORS as exc:
        log.warning("redis unavailable, %s left to the periodic tick: %s", job_id, type(exc).__name__)
        return False
    return True


def cancel_scheduled(job_id: str) -> None:
    """Drop a scheduled job that became pointless (best effort: jobs re-check the database)."""
    try:
        Job.fetch(job_id, connection=get_redis(), serializer=JSONSerializer).delete()
    except NoSuchJobError:
        pass
    except REDIS_ERRORS as exc:
        log.warning("redis unavailable, %s not cancelled: %s", job_id, type(exc).__name__)


def enqueue_assignment(request_id: int) -> bool:
    """Put the request's assignment job on the queue; False when Redis is unreachable."""
    try:
        enqueue_once(
            get_queue(ASSIGNMENT_QUEUE),
            JOBS + "assign_request",
            request_id,
            job_id=assignment_job_id(request_id),
        )
    except (*REDIS_ERRORS, RuntimeError) as exc:
        log.warning("redis unavailable, request %s left for the reconciler: %s", request_id, type(exc).__name__)
        return False
    return True


# --- every job of the application, by what it does --------------------------------------------

def schedule_offer_expiry(offer_id: int, expires_at: datetime) -> bool:
    return schedule_job(JOBS + "expire_offer", offer_id, job_id=f"offer-exp-{offer_id}",
                        at=expires_at + SCHEDULE_SLACK)


def cancel_offer_expiry(offer_id: int) -> None:
    cancel_scheduled(f"offer-exp-{offer_id}")


def schedule_requeue(request_id: int, at: datetime) -> bool:
    """A retry gap or an agreed follow-up time ends at ``at``: the request returns to the queue."""
    return schedule_job(JOBS + "requeue_request", request_id, job_id=f"requeue-{request_id}-{int(at.timestamp())}",
                        at=at + SCHEDULE_SLACK)


def schedule_bridge(attempt_id: int, at: datetime) -> bool:
    """Place a bridged call at ``at`` (over the account's calls per second, it waits a second)."""
    return schedule_job(JOBS + "bridge_call", attempt_id, job_id=f"bridge-{attempt_id}-{int(at.timestamp())}", at=at)


def schedule_simulation(attempt_id: int, at: datetime) -> bool:
    """Console simulator: play a call's status events at ``at``."""
    return schedule_job(JOBS + "simulate_call", attempt_id, job_id=f"simulate-{attempt_id}", at=at)


def enqueue_message(message_id: int | None) -> bool:
    """Send a stored message to an artisan. A Redis outage only delays it: the reconciler sends
    what stayed pending."""
    if message_id is None:
        return False
    try:
        enqueue_once(get_queue(MESSAGES_QUEUE), JOBS + "send_artisan_message", message_id,
                     job_id=f"message-{message_id}")
    except (*REDIS_ERRORS, RuntimeError) as exc:
        log.warning("redis unavailable, message %s left for the reconciler: %s", message_id, type(exc).__name__)
        return False
    return True


def enqueue_offer_push(offer_id: int) -> bool:
    """Tell the agent's phone about an offer (Web Push). Best effort: the console's polling shows
    the offer anyway, so a Redis outage costs only the notification."""
    try:
        enqueue_once(get_queue(ASSIGNMENT_QUEUE), JOBS + "send_offer_push", offer_id,
                     job_id=f"push-offer-{offer_id}", ttl=600)
    except (*REDIS_ERRORS, RuntimeError) as exc:
        log.warning("redis unavailable, no push for offer %s: %s", offer_id, type(exc).__name__)
        return False
    return True


def enqueue_periodic(name: str, func: str, queue: str, every_seconds: int, connection: redis.Redis,
                     now: datetime) -> bool:
    """This period's run of a periodic job (id ``<name>-<period>``), unless it already was:
    two schedulers running by mistake still enqueue each run once. True when enqueued."""
    bucket = int(now.timestamp() // every_seconds)
    try:
        get_queue(queue, connection).enqueue(
            func,
            job_id=f"{name}-{bucket}",
            unique=True,
            ttl=every_seconds,  # a run still waiting when the next is due is dropped
            result_ttl=every_seconds * 3,  # keeps the id taken for the whole period
            failure_ttl=24 * 3600,
            job_timeout=max(every_seconds - 5, 10),
        )
    except DuplicateJobError:
        return False
    return True


# --- heartbeats (``/readyz``) ----------------------------------------------------------------

SCHEDULER_HEARTBEAT_KEY = "chamber:scheduler:heartbeat"


def beat_scheduler(connection: redis.Redis, now: datetime) -> None:
    """The periodic scheduler is alive (its loop writes this every second or so)."""
    connection.set(SCHEDULER_HEARTBEAT_KEY, now.timestamp(), ex=600)


def last_scheduler_beat(connection: redis.Redis) -> datetime | None:
    raw = connection.get(SCHEDULER_HEARTBEAT_KEY)
    return datetime.fromtimestamp(float(raw), UTC) if raw else None


def last_worker_beat(connection: redis.Redis) -> datetime | None:
    """The latest heartbeat of any RQ worker (each writes one while it waits and between jobs)."""
    from rq import Worker

    beats = [worker.last_heartbeat for worker in Worker.all(connection=connection) if worker.last_heartbeat]
    return max((beat.replace(tzinfo=beat.tzinfo or UTC) for beat in beats), default=None)

