"""Commit first, then enqueue; a reconciler repairs what Redis lost; nothing runs twice."""
from datetime import UTC, datetime, timedelta

from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest
from chamber_callback.queues import ASSIGNMENT_QUEUE, assignment_job_id, get_queue
from chamber_callback.services.reconcile import reconcile
from tests.conftest import make_app

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1
URL = "/api/v1/callback-requests"


def now():
    return datetime.now(UTC)


def assignment_jobs(redis_conn) -> list[str]:
    return get_queue(ASSIGNMENT_QUEUE, redis_conn).get_job_ids()


def test_submission_enqueues_one_assignment_job_with_a_stable_id(client, redis_conn, valid_json, run_jobs):
    client.post(URL, json=valid_json)
    request = db.session.scalar(select(CallbackRequest))
    assert request.enqueued_at is not None
    assert assignment_jobs(redis_conn) == [assignment_job_id(request.id)]
    job = Job.fetch(assignment_job_id(request.id), connection=redis_conn, serializer=JSONSerializer)
    assert job.args == [request.id]  # an id, never personal data

    run_jobs()
    db.session.refresh(request)
    assert request.assignment_checked_at is not None
    assert job.get_status(refresh=True) == "finished"
    assert reconcile(now()) == 0  # processed: nothing to repair


def test_redis_down_at_submission_keeps_the_request_and_the_reconciler_enqueues_it_once(
        _migrated, app, redis_conn, valid_json, valid_form, run_jobs):
    down = make_app(REDIS_URL=DEAD_REDIS, RATELIMIT_STORAGE_URI=DEAD_REDIS)
    with down.app_context():
        api = down.test_client().post(URL, json=valid_json)
        form = down.test_client().post("/", data=valid_form)
        health = down.test_client().get("/healthz")
    assert api.status_code == 201
    assert form.status_code == 302
    assert health.status_code == 503

    requests = db.session.scalars(select(CallbackRequest).order_by(CallbackRequest.id)).all()
    assert len(requests) == 2
    assert assignment_jobs(redis_conn) == []  # saved, but no job: the reconciler finds them

    assert reconcile(now()) == 2
    assert reconcile(now()) == 0  # second run: the jobs are live, nothing enqueued twice
    assert sorted(assignment_jobs(redis_conn)) == sorted(assignment_job_id(r.id) for r in requests)
    db.session.expire_all()
    assert all(r.enqueued_at is not None for r in requests)

    run_jobs()
    assert all(r.assignment_checked_at is not None for r in requests)
    assert reconcile(now()) == 0


def test_reconciler_repairs_jobs_lost_by_redis(client, redis_conn, valid_json, run_jobs):
    client.post(URL, json=valid_json)
    request = db.session.scalar(select(CallbackRequest))
    redis_conn.flushdb()  # Redis restarted without persistence
    assert reconcile(now()) == 1
    assert assignment_jobs(redis_conn) == [assignment_job_id(request.id)]
    run_jobs()
    db.session.refresh(request)
    assert request.assignment_checked_at is not None


def test_reconciler_ignores_cancelled_requests(client, redis_conn, valid_json):
    token = client.post(URL, json=valid_json).get_json()["token"]
    client.delete(f"{URL}/{token}")
    redis_conn.flushdb()
    assert reconcile(now()) == 0


def test_assignment_job_without_agents_leaves_the_request_waiting(client, valid_json, run_jobs):
    from chamber_callback.jobs import assign_request

    client.post(URL, json=valid_json)
    request = db.session.scalar(select(CallbackRequest))
    assert assign_request(request.id) == "waiting"
    assert assign_request(request.id) == "waiting"  # safe to run twice
    db.session.refresh(request)
    assert (request.status, request.assigned_agent_id) == ("queued", None)
    assert request.assignment_checked_at is not None
    request.status = "cancelled"
    db.session.commit()
    assert assign_request(request.id) == "waiting"
    db.session.refresh(request)
    assert request.status == "cancelled"
    assert assign_request(999999) == "waiting"


def test_reconcile_command_reports_counts_and_redis_outage(_migrated, app, client, redis_conn, valid_json):
    client.post(URL, json=valid_json)
    redis_conn.flushdb()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reconcile"])
    assert result.exit_code == 0 and "1 request(s) enqueued" in result.output
    assert "0 request(s) enqueued" in runner.invoke(args=["reconcile"]).output

    down = make_app(REDIS_URL=DEAD_REDIS)
    with down.app_context():
        failed = down.test_cli_runner().invoke(args=["reconcile"])
    assert failed.exit_code == 1
    assert "Redis is unreachable" in failed.output


def test_periodic_scheduler_enqueues_each_period_once(redis_conn):
    from chamber_callback.periodic import PERIODIC_JOBS
    from workers.scheduler import enqueue_due

    job = PERIODIC_JOBS[0]
    t = datetime.fromtimestamp(1_800_000_000, UTC)
    assert enqueue_due(job, redis_conn, t) is True
    assert enqueue_due(job, redis_conn, t + timedelta(seconds=1)) is False  # same period, even from a second scheduler
    assert enqueue_due(job, redis_conn, t + timedelta(seconds=job.every_seconds)) is True
    assert len(get_queue(job.queue, redis_conn).get_job_ids()) == 2


def test_periodic_reconcile_job_runs_in_a_worker(client, redis_conn, valid_json, run_jobs):
    from chamber_callback.periodic import PERIODIC_JOBS
    from workers.scheduler import enqueue_due

    client.post(URL, json=valid_json)
    redis_conn.flushdb()
    enqueue_due(PERIODIC_JOBS[0], redis_conn, datetime.fromtimestamp(1_800_000_000, UTC))
    run_jobs()  # runs reconcile, which enqueues the assignment, which the same burst then runs
    request = db.session.scalar(select(CallbackRequest))
    assert request.assignment_checked_at is not None


