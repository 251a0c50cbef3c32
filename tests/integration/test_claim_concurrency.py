"""Agents pulling at the same time: every request held once, no agent over capacity."""
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from rq import Worker
from rq.executions import Execution
from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, Offer, StaffUser
from chamber_callback.queues import ASSIGNMENT_QUEUE, assignment_job_id, get_queue
from chamber_callback.services import assignment as engine
from chamber_callback.services.reconcile import reconcile
from tests.integration.helpers import T0, make_request, make_staff, run_at_once

REQUESTS, AGENTS, CAPACITY = 50, 10, 5


def test_fifty_requests_ten_agents_pulling_at_once(app):
    agent_ids = [make_staff(capacity=CAPACITY, availability="offline").id for _ in range(AGENTS)]
    for index in range(REQUESTS):
        make_request(urgent=index % 7 == 0, now=T0 - timedelta(minutes=index))
    barrier = threading.Barrier(AGENTS)
    taken: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def agent_loop(agent_id: int) -> None:
        with app.app_context():
            agent = db.session.get(StaffUser, agent_id)
            barrier.wait()
            try:
                while True:
                    try:
                        request = engine.claim_next(agent, T0)
                    except engine.AssignmentConflict:
                        break  # at capacity
                    if request is None:
                        break
                    with lock:
                        taken.append((request.id, agent_id))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=agent_loop, args=(agent_id,)) for agent_id in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    request_ids = [request_id for request_id, _agent in taken]
    assert len(request_ids) == len(set(request_ids)) == REQUESTS  # each held exactly once
    per_agent = Counter(agent_id for _request, agent_id in taken)
    assert max(per_agent.values()) <= CAPACITY
    db.session.rollback()
    held = dict(db.session.execute(select(CallbackRequest.assigned_agent_id, func.count())
                                   .where(CallbackRequest.status == "in_call")
                                   .group_by(CallbackRequest.assigned_agent_id)).all())
    assert sum(held.values()) == REQUESTS and max(held.values()) <= CAPACITY
    assert held == dict(per_agent)  # the database agrees with what each agent was told


def test_offers_from_concurrent_ticks_never_double_book(app):
    """Several workers running the tick at once: one pending offer per request, capacity kept."""
    for _ in range(6):
        make_staff(capacity=2)
    for index in range(20):
        make_request(now=T0 - timedelta(minutes=index))
    run_at_once(app, lambda _index: engine.dispatch_tick(T0), 4)
    offers = db.session.scalars(select(Offer).where(Offer.status == "pending")).all()
    # one request per offer, and one proposal at a time per agent (whatever its capacity)
    assert len(offers) == len({o.request_id for o in offers}) == 6
    assert set(Counter(o.agent_id for o in offers).values()) == {1}


def test_request_still_assigned_when_the_worker_dies_mid_job(app, redis_conn, run_jobs):
    """A worker took the job and was killed: RQ's abandoned-job cleanup fails it, the
    reconciler enqueues it again, and the request reaches the agent."""
    agent = make_staff()
    request = make_request()
    queue = get_queue(ASSIGNMENT_QUEUE, redis_conn)
    job = queue.fetch_job(assignment_job_id(request.id))
    # What a worker does when it takes the job... then dies without finishing it.
    queue.remove(job)
    job.set_status(JobStatus.STARTED)
    with redis_conn.pipeline() as pipeline:
        Execution.create(job, ttl=1, pipeline=pipeline, worker_name="killed-worker")
        pipeline.execute()
    assert reconcile(T0) == 0  # a job still marked started is left alone...
    # ...until RQ's maintenance finds its heartbeat stale and declares it abandoned.
    StartedJobRegistry(queue=queue).cleanup(timestamp=time.time() + 60)
    assert job.get_status(refresh=True) == JobStatus.FAILED
    assert reconcile(T0) == 1
    run_jobs()
    db.session.expire_all()
    [offer] = db.session.scalars(select(Offer).where(Offer.status == "pending")).all()
    assert (offer.request_id, offer.agent_id) == (request.id, agent.id)


@pytest.mark.parametrize("death", ["killed on this host", "heartbeat expired"])
def test_a_job_started_by_a_dead_worker_is_enqueued_again_at_once(app, redis_conn, run_jobs, death):
    """A worker SIGKILLed in the middle of a job leaves it ``started``: the reconciler sees that its
    worker is gone (no such process on this host, or no heartbeat left) without waiting minutes
    for RQ to fail it; a job whose worker is alive is left to it."""
    agent = make_staff()
    request = make_request()
    queue = get_queue(ASSIGNMENT_QUEUE, redis_conn)
    job_id = assignment_job_id(request.id)
    job = queue.fetch_job(job_id)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    workers = {"live-worker": os.getpid(), "dead-worker": ended.pid}
    for name, pid in workers.items():
        redis_conn.hset(Worker.redis_worker_namespace_prefix + name,
                        mapping={"hostname": socket.gethostname(), "pid": pid})
    if death == "heartbeat expired":
        redis_conn.delete(Worker.redis_worker_namespace_prefix + "dead-worker")
    queue.remove(job)
    job.worker_name = "live-worker"
    job.set_status(JobStatus.STARTED)
    job.save()
    assert reconcile(T0) == 0  # running, in a live worker
    job.worker_name = "dead-worker"
    job.save()
    assert reconcile(T0) == 1
    assert queue.job_ids == [job_id]
    assert reconcile(T0) == 0  # queued again: not twice
    run_jobs()
    db.session.expire_all()
    [offer] = db.session.scalars(select(Offer).where(Offer.status == "pending")).all()
    assert (offer.request_id, offer.agent_id) == (request.id, agent.id)


def test_a_job_popped_by_a_worker_killed_before_starting_it_is_enqueued_again(app, redis_conn, run_jobs):
    """A worker on several queues pops the job (BLPOP) and is SIGKILLed before marking it started:
    the job stays ``queued``, in no queue and no registry. The reconciler sees the orphan and
    enqueues the request again; a job popped a moment ago is left to its worker."""
    agent = make_staff()
    request = make_request()
    queue = get_queue(ASSIGNMENT_QUEUE, redis_conn)
    job_id = assignment_job_id(request.id)
    assert redis_conn.lpop(queue.key).decode() == job_id  # what the worker did before it died
    job = queue.fetch_job(job_id)
    assert job.get_status() == JobStatus.QUEUED
    assert reconcile(T0) == 0  # just popped: its worker may be about to start it
    job.enqueued_at = job.enqueued_at - timedelta(seconds=30)
    job.save()
    assert reconcile(T0) == 1
    assert queue.job_ids == [job_id]
    assert reconcile(T0) == 0  # live again: not enqueued twice
    run_jobs()
    db.session.expire_all()
    [offer] = db.session.scalars(select(Offer).where(Offer.status == "pending")).all()
    assert (offer.request_id, offer.agent_id) == (request.id, agent.id)


def test_dispatch_tick_assigns_even_when_the_job_is_stuck(app, redis_conn):
    agent = make_staff(availability="offline")
    request = make_request()
    redis_conn.flushdb()
    engine.set_availability(agent, "available", T0)  # offers at once, whatever Redis holds
    db.session.expire_all()
    assert db.session.get(CallbackRequest, request.id).assigned_agent_id == agent.id
