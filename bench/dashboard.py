"""The manager's dashboard, the stats API and the CSV export on a year of history: with N closed
requests and M open ones, the dashboard page, its live fragment, /api/v1/stats and the reports
page are timed against /healthz, and the full CSV export is streamed against a bare
server-side-cursor dump of the same rows, measured in the same run.

    .venv/bin/python bench/dashboard.py                       # SQLite, 1,000,000 closed + 10,000 open
    .venv/bin/python bench/dashboard.py --historical 100000   # smaller
    .venv/bin/python bench/dashboard.py --database postgresql+psycopg://postgres@127.0.0.1:5432/chamber_bench_dash

The database is built from the migrations, filled with synthetic rows (no personal data) and
left in place for the next run (rebuilt when the sizes differ, or with --rebuild). Requests
go through the Flask test client in this process (the app as gunicorn would run it, minus the
HTTP parsing); each CSV export runs in a fresh subprocess so that its peak memory is its own.
Redis: 127.0.0.1:6379 database 11 (only /healthz pings it).
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="cc-bench-"))

from sqlalchemy import func, select, text

from chamber_callback import create_app
from chamber_callback.clock import utcnow
from chamber_callback.domain.geography import DEFAULT_UNITS
from chamber_callback.domain.intake import DEFAULT_TOPICS, SECTORS, URGENCY_REASONS
from chamber_callback.domain.reference import REFERENCE_ALPHABET
from chamber_callback.extensions import db
from chamber_callback.models import CallbackRequest, StaffUser

PASSWORD = "bench-password-123"
MANAGER_EMAIL = "manager@bench.example.fr"
REDIS_URL = "redis://127.0.0.1:6379/11"
CHUNK = 50_000  # requests generated and written per batch
HOUR = 3600
DAY = 86400
SLA = 24 * HOUR
RETENTION_DAYS = 365
TERMINAL = ("completed", "unreachable", "cancelled")
ACTIVE = ("queued", "offered", "in_call", "retry_wait", "scheduled")
PAGES = (("dashboard page", "/pilotage"), ("live fragment", "/pilotage/panneau"),
         ("stats API", "/api/v1/stats"), ("reports page", "/rapports"))
BASELINE = ("/healthz", "/healthz")

# --- synthetic data ---------------------------------------------------------------------------

# Submissions by local hour (Europe/Paris, UTC+1 in winter): office hours, peaks mid-morning and
# early afternoon, a trickle at night (the form is open all the time).
HOUR_WEIGHTS = [1, 0.5, 0.3, 0.3, 0.5, 1, 3, 8, 16, 20, 20, 17, 11, 12, 17, 18, 16, 13, 10, 8, 6, 4, 3, 2]
WEEKDAY_WEIGHTS = [1.15, 1.05, 1.0, 1.0, 0.95, 0.45, 0.15]  # Monday first
UNIT_WEIGHTS = [0.30, 0.20, 0.15, 0.15, 0.20]  # DEFAULT_UNITS order
TOPIC_WEIGHTS = [0.30, 0.15, 0.15, 0.15, 0.08, 0.10, 0.07]  # DEFAULT_TOPICS order
DESCRIPTIONS = [
    "Je voudrais savoir si mon entreprise peut bénéficier du fonds de solidarité pour le mois dernier.",
    "Mon chiffre d'affaires a baissé de moitié ; quelles aides puis-je demander et avec quels justificatifs ?",
    "Question sur le report des cotisations URSSAF du trimestre, le prélèvement est prévu la semaine prochaine.",
    "Ma banque hésite à m'accorder le PGE, pouvez-vous m'expliquer les conditions et m'aider à monter le dossier ?",
    "Puis-je mettre mes deux salariés en activité partielle alors que la boutique reste ouverte le matin ?",
    "Quelles règles sanitaires s'appliquent à mon salon de coiffure (jauge, masques, registre des clients) ?",
    "Je dois déclarer un changement d'adresse de mon atelier et je ne trouve pas le bon formulaire.",
    "Autre question : mon fournisseur ne livre plus, comment faire valoir la force majeure ?",
]
NOTES = ["Aides expliquées, dossier envoyé par courriel.", "Orienté vers la banque et la médiation du crédit.",
         "Report de charges : démarche faite en ligne avec l'artisan.", "Règles sanitaires rappelées.",
         None, None]


def encode_reference(number: int) -> str:
    """A unique 'XXXX-XXXX' reference for each number (base 21 on the reference alphabet)."""
    chars = []
    for _ in range(8):
        number, digit = divmod(number, len(REFERENCE_ALPHABET))
        chars.append(REFERENCE_ALPHABET[digit])
    return f"{''.join(chars[:4])}-{''.join(chars[4:])}"


def postal_code_of(dep: str) -> str:
    if dep in ("2A", "2B"):
        return "20000"
    return dep + "00" if len(dep) == 3 else dep + "000"


class Generator:
    """Rows as tuples in the column orders below; times are epoch seconds (ints)."""

    REQUEST_COLUMNS = (
        "id", "reference", "token_digest", "status", "name", "business_name", "siret", "sector", "phone", "email",
        "postal_code", "commune_insee", "commune_name", "departement_code", "unit_id", "topic_id", "description",
        "urgent", "no_sms", "urgency_reason", "channel", "consent_at", "submitted_at", "sla_deadline", "closed_at",
        "enqueued_at", "assignment_checked_at", "queued_at", "assigned_agent_id", "overflow_at", "next_attempt_at",
        "failed_attempts", "first_attempt_at", "first_reached_at", "sla_met", "sla_met_at", "time_to_first_attempt_s",
        "priority", "next_escalation_at", "purged_at")
    ATTEMPT_COLUMNS = ("id", "request_id", "agent_id", "started_at", "ended_at", "outcome", "note", "follow_up_at",
                       "agent_status", "artisan_status", "artisan_duration_s", "answered_by")
    ESCALATION_COLUMNS = ("id", "request_id", "level", "fired_at", "resolved_at")
    OFFER_COLUMNS = ("id", "request_id", "agent_id", "status", "created_at", "expires_at", "responded_at")
    NOTIFICATION_COLUMNS = ("id", "user_id", "request_id", "escalation_id", "kind", "title", "body", "created_at",
                            "read_at", "email_status", "email_attempts", "emailed_at")
    TIME_COLUMNS = frozenset({"consent_at", "submitted_at", "sla_deadline", "closed_at", "enqueued_at",
                    "assignment_checked_at",
                    "queued_at", "overflow_at", "next_attempt_at", "first_attempt_at", "first_reached_at",
                    "sla_met_at", "next_escalation_at", "purged_at", "started_at", "ended_at", "follow_up_at",
                    "fired_at", "resolved_at", "created_at", "expires_at", "responded_at", "read_at", "emailed_at"})
    BOOL_COLUMNS = frozenset({"urgent", "no_sms", "sla_met"})

    def __init__(self, now: int, agents_by_unit: dict[int, list[int]], seniors: dict[int, int], manager_id: int,
                 seed: int = 20261127):
        self.now = now
        self.rng = random.Random(seed)
        self.agents_by_unit = agents_by_unit
        self.seniors = seniors
        self.manager_id = manager_id
        self.units = sorted(agents_by_unit)
        self.deps = {i: deps for i, (_code, _name, deps) in enumerate(DEFAULT_UNITS, start=1)}
        self.sectors = list(SECTORS)
        self.reasons = list(URGENCY_REASONS)
        self.next_id = {"request": 1, "attempt": 1, "escalation": 1, "offer": 1, "notification": 1}
        self.counts = {"requests": 0, "attempts": 0, "escalations": 0, "offers": 0, "notifications": 0}

    def _id(self, kind: str) -> int:
        value = self.next_id[kind]
        self.next_id[kind] = value + 1
        return value

    def submission_times(self, count: int, start: int, end: int) -> list[int]:
        """count instants in [start, end) with weekday and hour patterns (local time = UTC+1), sorted."""
        rng = self.rng
        first_day = start // DAY
        days = list(range(first_day, end // DAY + 1))
        # A crisis wave: the volume doubles for about six weeks, four months ago, then decays.
        wave_centre = (end - 120 * DAY) // DAY

        def day_weight(day: int) -> float:
            weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
            return WEEKDAY_WEIGHTS[weekday] * (1 + 1.2 * math.exp(-((day - wave_centre) / 25) ** 2))

        chosen_days = rng.choices(days, weights=[day_weight(d) for d in days], k=count)
        hours = rng.choices(range(24), weights=HOUR_WEIGHTS, k=count)
        times = []
        for day, hour in zip(chosen_days, hours, strict=False):
            t = day * DAY + ((hour - 1) % 24) * HOUR + rng.randrange(HOUR)
            if not start <= t < end:
                t = rng.randrange(start, end)
            times.append(t)
        times.sort()
        return times

    def _identity(self, rid: int, unit: int, purged: bool) -> tuple:
        rng = self.rng
        dep = rng.choice(self.deps[unit])
        if purged:
            return ("—", "—", None, rng.choice(self.sectors), "—", None, "00000", None, None, dep, "—")
        siret = f"{rng.randrange(10**13, 10**14)}" if rng.random() < 0.7 else None
        email = f"artisan{rid}@example.invalid" if rng.random() < 0.6 else None
        # Repeat callers: about one closed request in five shares its number with another.
        phone = f"+336{rng.randrange(10**7, 10**7 + 800_000):08d}"
        return (f"Artisan {rid}", f"Entreprise {rid % 400_000}", siret, rng.choice(self.sectors), phone, email,
                postal_code_of(dep), None, None, dep, rng.choice(DESCRIPTIONS))

    def _agent(self, unit: int) -> int:
        return self.rng.choice(self.agents_by_unit[unit])

    def _first_attempt_delay(self) -> int:
        """Seconds from submission to the first call: ~90 % within the 24 h SLA."""
        rng = self.rng
        if rng.random() < 0.9:
            return int(math.exp(rng.uniform(math.log(300), math.log(SLA - 60))))
        return rng.randrange(SLA + 60, 60 * HOUR)

    def _escalations(self, rid: int, submitted: int, until: int | None, resolved: int | None,
                     unit: int, notify: bool, out: dict) -> tuple[list[str], int | None, int]:
        """The levels fired before ``until`` (None: still waiting, up to now); returns the codes,
        the next level's instant (when still waiting) and the priority."""
        limit = self.now if until is None else until
        levels = [("half", submitted + SLA // 2, 1), ("senior", submitted + SLA * 3 // 4, 1),
                  ("breach", submitted + SLA, 2)]
        number = 1
        while submitted + SLA + number * 4 * HOUR <= limit + 4 * HOUR:
            levels.append((f"breach+{number}", submitted + SLA + number * 4 * HOUR, 2))
            number += 1
        fired, priority, next_at = [], 0, None
        for code, at, level_priority in levels:
            if at > limit:
                next_at = at
                break
            eid = self._id("escalation")
            out["escalations"].append((eid, rid, code, at, resolved))
            fired.append(code)
            priority = max(priority, level_priority)
            if notify and code != "half":
                user = self.seniors[unit] if code == "senior" else self.manager_id
                kind = "escalation.senior" if code == "senior" else "escalation.breach"
                out["notifications"].append((self._id("notification"), user, rid, eid, kind,
                                             f"Demande en retard ({code})", "Synthetic notification.", at,
                                             None if self.rng.random() < 0.7 else at + 600, None, 0, None))
        return fired, next_at, priority

    def _empty(self) -> dict:
        return {"requests": [], "attempts": [], "escalations": [], "offers": [], "notifications": []}

    def historical(self, times: list[int]) -> dict:
        """Closed requests submitted at ``times``: completed ~80 %, unreachable ~8 %, cancelled ~12 %."""
        rng, now = self.rng, self.now
        out = self._empty()
        cutoff = now - RETENTION_DAYS * DAY
        for submitted in times:
            rid = self._id("request")
            unit = rng.choices(self.units, weights=UNIT_WEIGHTS)[0]
            topic = rng.choices(range(1, len(DEFAULT_TOPICS) + 1), weights=TOPIC_WEIGHTS)[0]
            urgent = rng.random() < 0.08
            roll = rng.random()
            status = "completed" if roll < 0.80 else "unreachable" if roll < 0.88 else "cancelled"
            # The calls, as (offset from submission, duration, outcome); a cancellation has no call.
            calls: list[tuple[int, int, str]] = []
            offset = self._first_attempt_delay()
            if status == "completed":
                for _ in range(rng.choices((0, 1, 2), weights=(70, 22, 8))[0]):
                    calls.append((offset, rng.randrange(20, 60), rng.choice(("no_answer", "no_answer", "voicemail"))))
                    offset += rng.randrange(30 * 60, 4 * HOUR)
                last = rng.choices(("reached_resolved", "reached_follow_up", "refused"), weights=(85, 10, 5))[0]
                if last == "reached_follow_up":
                    calls.append((offset, rng.randrange(120, 900), last))
                    offset += rng.randrange(4 * HOUR, 3 * DAY)
                    last = "reached_resolved"
                calls.append((offset, rng.randrange(180, 1500), last))
            elif status == "unreachable":
                if rng.random() < 0.15:
                    calls.append((offset, rng.randrange(10, 40), "wrong_number"))
                else:
                    for _ in range(3):
                        calls.append((offset, rng.randrange(20, 60), rng.choice(("no_answer", "voicemail"))))
                        offset += rng.randrange(30 * 60, 4 * HOUR)
            elif rng.random() < 0.2:  # cancelled after one unanswered call
                calls.append((offset, rng.randrange(20, 60), "no_answer"))
                offset += rng.randrange(10 * 60, 6 * HOUR)
            end = calls[-1][0] + calls[-1][1] if calls else rng.randrange(5 * 60, 20 * HOUR)
            if status == "cancelled" and calls:
                end = offset
            room = now - 120 - submitted
            scale = min(1.0, room / end) if end > 0 else 1.0  # the most recent ones: squeeze before now
            closed = submitted + int(end * scale)
            agent = self._agent(unit) if rng.random() < 0.9 else self._agent(rng.choice(self.units))
            first = reached = None
            failed = 0
            for start_offset, duration, outcome in calls:
                started = submitted + int(start_offset * scale)
                ended = min(closed, started + max(1, int(duration * scale)))
                if first is None:
                    first = started
                if outcome in ("no_answer", "voicemail"):
                    failed += 1
                elif reached is None and outcome != "wrong_number":
                    reached = started
                reached_call = outcome.startswith("reached") or outcome == "refused"
                out["attempts"].append((
                    self._id("attempt"), rid, agent, started, ended, outcome,
                    rng.choice(NOTES) if reached_call else None, None,
                    "completed", "no-answer" if outcome == "no_answer" else "completed",
                    ended - started if outcome != "no_answer" else 0,
                    "human" if reached_call else ("machine_end_beep" if outcome == "voicemail" else None)))
            deadline = submitted + SLA
            sla_met = None if first is None else first <= deadline
            stop = first if first is not None else closed
            fired, _next, priority = self._escalations(rid, submitted, stop, stop, unit, False, out)
            purged = closed < cutoff
            identity = self._identity(rid, unit, purged)
            out["requests"].append((
                rid, encode_reference(rid * 7919 + 13), f"{rid:064x}", status, *identity[:10], unit, topic,
                identity[10], urgent, False, rng.choice(self.reasons) if urgent else None,
                "api" if rng.random() < 0.15 else "web", submitted, submitted, deadline, closed,
                submitted + 1, submitted + 2, submitted if not calls else submitted + int(calls[-1][0] * scale) - 1,
                agent if calls else None, deadline if "breach" in fired else None, None,
                failed, first, reached, sla_met, first, None if first is None else first - submitted,
                priority, None, closed + RETENTION_DAYS * DAY + 3600 if purged else None))
        return out

    def open_requests(self, count: int, busy_agents: list[int], available_agents: list[int],
                      agent_unit: dict[int, int]) -> dict:
        """Waiting requests submitted over the last 30 hours, in the states of a busy day."""
        rng, now = self.rng, self.now
        out = self._empty()
        times = sorted(rng.randrange(now - 30 * HOUR, now - 60) for _ in range(count))
        # The oldest waiting requests are the ones being called or offered right now.
        in_call = {i: agent for i, agent in enumerate(busy_agents)}
        offered = {len(busy_agents) + i: agent for i, agent in enumerate(available_agents)}
        for index, submitted in enumerate(times):
            rid = self._id("request")
            agent = in_call.get(index) or offered.get(index)
            unit = agent_unit[agent] if agent else rng.choices(self.units, weights=UNIT_WEIGHTS)[0]
            topic = rng.choices(range(1, len(DEFAULT_TOPICS) + 1), weights=TOPIC_WEIGHTS)[0]
            urgent = rng.random() < 0.10
            deadline = submitted + SLA
            first = reached = next_attempt = None
            failed = 0
            if index in in_call:
                status = "in_call"
                first = now - rng.randrange(60, 900)
                out["offers"].append((self._id("offer"), rid, agent, "accepted", first - 60, first + 60, first - 30))
                out["attempts"].append((self._id("attempt"), rid, agent, first, None, None, None, None,
                                        "in-progress", "in-progress", None, None))
            elif index in offered:
                status = "offered"
                out["offers"].append((self._id("offer"), rid, agent, "pending", now - 30, now + 90, None))
            else:
                roll = rng.random()
                status = "retry_wait" if roll < 0.18 else "scheduled" if roll < 0.25 else "queued"
                agent = None
                if status != "queued":
                    agent = self._agent(unit)
                    first = submitted + int((now - submitted) * rng.uniform(0.05, 0.6))
                    calls = 1 if status == "scheduled" else rng.choice((1, 1, 2))
                    started = first
                    for _number in range(calls):
                        outcome = ("reached_follow_up" if status == "scheduled"
                                   else rng.choice(("no_answer", "no_answer", "voicemail")))
                        ended = min(now - 1, started + (rng.randrange(120, 600) if status == "scheduled"
                                                        else rng.randrange(20, 60)))
                        follow_up = now + rng.randrange(HOUR, 2 * DAY) if status == "scheduled" else None
                        out["attempts"].append((self._id("attempt"), rid, agent, started, ended, outcome, None,
                                                follow_up, "completed", "completed", ended - started,
                                                "human" if status == "scheduled" else None))
                        if status == "scheduled":
                            reached, next_attempt = started, follow_up
                        else:
                            failed += 1
                            next_attempt = ended + 30 * 60
                        started = min(now - 60, ended + 30 * 60 + rng.randrange(0, 3600))
                        if started <= ended:
                            break
            waiting = first is None
            fired, next_escalation, priority = self._escalations(
                rid, submitted, None if waiting else first, None if waiting else first, unit, True, out)
            out["requests"].append((
                rid, encode_reference(rid * 7919 + 13), f"{rid:064x}", status, f"Artisan {rid}",
                f"Entreprise {rid}", None, rng.choice(self.sectors), f"+337{rid:08d}", None,
                postal_code_of(self.deps[unit][0]), None, None, self.deps[unit][0], unit, topic,
                rng.choice(DESCRIPTIONS), urgent, False, rng.choice(self.reasons) if urgent else None,
                "web", submitted, submitted, deadline, None, submitted + 1, submitted + 2, submitted,
                agent if status in ("in_call", "offered") else None,
                deadline if "breach" in fired else None, next_attempt, failed, first, reached,
                None if first is None else first <= deadline, first, None if first is None else first - submitted,
                priority, next_escalation if waiting else None, None))
        return out


# --- loading ----------------------------------------------------------------------------------

class Loader:
    """Writes generated rows: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, backend: str, url: str):
        self.backend = backend
        self.minutes: dict[int, str] = {}
        if backend == "postgresql":
            import psycopg

            conninfo = url.replace("postgresql+psycopg://", "postgresql://", 1)
            self.conn = psycopg.connect(conninfo)
        else:
            import sqlite3

            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=OFF")
            self.conn.execute("PRAGMA cache_size=-400000")  # 400 MB
            self.conn.execute("BEGIN")

    def _ts(self, t: int) -> str:
        minute = t // 60
        prefix = self.minutes.get(minute)
        if prefix is None:
            prefix = datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%d %H:%M")
            self.minutes[minute] = prefix
        return f"{prefix}:{t % 60:02d}"

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        times = [i for i, c in enumerate(columns) if c in Generator.TIME_COLUMNS]
        bools = [i for i, c in enumerate(columns) if c in Generator.BOOL_COLUMNS]
        ts = self._ts
        if self.backend == "postgresql":
            lines = []
            for row in rows:
                values = ["\\N" if v is None else str(v) for v in row]
                for i in times:
                    if row[i] is not None:
                        values[i] = ts(row[i]) + "+00"
                for i in bools:
                    if row[i] is not None:
                        values[i] = "t" if row[i] else "f"
                lines.append("\t".join(values))
            with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write("\n".join(lines) + "\n")
        else:
            converted = []
            for row in rows:
                values = list(row)
                for i in times:
                    if values[i] is not None:
                        values[i] = ts(values[i]) + ".000000"
                for i in bools:
                    if values[i] is not None:
                        values[i] = 1 if values[i] else 0
                converted.append(values)
            marks = ", ".join("?" * len(columns))
            self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", converted)

    def write_all(self, out: dict) -> None:
        self.write("callback_requests", Generator.REQUEST_COLUMNS, out["requests"])
        self.write("call_attempts", Generator.ATTEMPT_COLUMNS, out["attempts"])
        self.write("escalations", Generator.ESCALATION_COLUMNS, out["escalations"])
        self.write("offers", Generator.OFFER_COLUMNS, out["offers"])
        self.write("notifications", Generator.NOTIFICATION_COLUMNS, out["notifications"])

    def finish(self) -> None:
        if self.backend == "postgresql":
            with self.conn.cursor() as cur:
                for table in ("callback_requests", "call_attempts", "escalations", "offers", "notifications"):
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
            self.conn.commit()
            self.conn.autocommit = True
            self.conn.execute("VACUUM ANALYZE")  # what autovacuum would have done by then
        else:
            self.conn.execute("COMMIT")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


def make_app(url: str, cache_seconds: float = 0):
    # DASHBOARD_CACHE_SECONDS 0 by default: every timed request computes the figures (the cold case).
    app = create_app({"DATABASE_URL": url, "REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": REDIS_URL,
                      "DASHBOARD_CACHE_SECONDS": cache_seconds,
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                      "SECRET_KEY": "bench-secret", "PUBLIC_BASE_URL": "https://rappel.example.fr",
                      "RETENTION_DAYS": RETENTION_DAYS})
    import logging

    logging.getLogger("chamber_callback").setLevel(logging.WARNING)
    return app


def create_staff(now: datetime) -> tuple[dict[int, list[int]], dict[int, int], int, dict[int, int]]:
    """8 people per unit (the first one a senior, the second too in the two big units) and one manager."""
    from chamber_callback.services.staff import create_user

    units = [code for code, _name, _deps in DEFAULT_UNITS]
    agents_by_unit: dict[int, list[int]] = {}
    seniors: dict[int, int] = {}
    agent_unit: dict[int, int] = {}
    availability = ["busy", "available", "busy", "wrap_up", "busy", "away", "offline", "busy"]
    for unit_id, code in enumerate(units, start=1):
        for n in range(8):
            role = "senior" if n == 0 or (n == 1 and unit_id in (1, 5)) else "agent"
            user = create_user(email=f"{role}{unit_id}-{n}@bench.example.fr", role=role, password=PASSWORD,
                               now=now - timedelta(days=400), name=f"Agent {code} {n}", unit_code=code,
                               phone="+33612345678")
            user.availability = availability[n]  # set directly: no offers triggered while building
            user.availability_since = now - timedelta(minutes=5 + 7 * n)
            db.session.commit()
            agents_by_unit.setdefault(unit_id, []).append(user.id)
            agent_unit[user.id] = unit_id
            if n == 0:
                seniors[unit_id] = user.id
    manager = create_user(email=MANAGER_EMAIL, role="manager", password=PASSWORD, now=now - timedelta(days=400),
                          name="Manager")
    db.session.commit()
    return agents_by_unit, seniors, manager.id, agent_unit


def build(url: str, historical: int, open_count: int) -> None:
    """Fresh schema from the migrations, staff, then the synthetic history and the open queue."""
    from flask_migrate import upgrade

    backend = db.engine.dialect.name
    if backend == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.session.remove()
        db.engine.dispose()
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    upgrade()
    now_dt = datetime.now(UTC).replace(microsecond=0)
    agents_by_unit, seniors, manager_id, agent_unit = create_staff(now_dt)
    staff = db.session.execute(select(StaffUser.id, StaffUser.availability)).all()
    busy = [user_id for user_id, availability in staff if availability == "busy"]
    available = [user_id for user_id, availability in staff if availability == "available"]
    db.session.remove()
    db.engine.dispose()  # the loader writes through its own connection

    now = int(now_dt.timestamp())
    generator = Generator(now, agents_by_unit, seniors, manager_id)
    loader = Loader(backend, url)
    started = time.perf_counter()
    times = generator.submission_times(historical, now - RETENTION_DAYS * DAY - 2 * DAY, now - 2 * HOUR)
    for start in range(0, historical, CHUNK):
        out = generator.historical(times[start:start + CHUNK])
        loader.write_all(out)
        for key in generator.counts:
            generator.counts[key] += len(out[key])
        done = min(historical, start + CHUNK)
        print(f"\r  {done:,} closed requests written ({time.perf_counter() - started:.0f} s)", end="", flush=True)
    print()
    out = generator.open_requests(open_count, busy, available, agent_unit)
    loader.write_all(out)
    for key in generator.counts:
        generator.counts[key] += len(out[key])
    print("  finishing (sequences, VACUUM ANALYZE / checkpoint)…", flush=True)
    loader.finish()
    print("  rows: " + ", ".join(f"{key} {value:,}" for key, value in generator.counts.items()))


def database_state(historical: int, open_count: int) -> tuple[bool, str]:
    """Whether the database already holds this data set (then it is reused)."""
    try:
        closed = db.session.scalar(select(func.count()).select_from(CallbackRequest)
                                   .where(CallbackRequest.status.in_(TERMINAL)))
        active = db.session.scalar(select(func.count()).select_from(CallbackRequest)
                                   .where(CallbackRequest.status.in_(ACTIVE)))
        manager = db.session.scalar(select(StaffUser.id).where(StaffUser.email == MANAGER_EMAIL))
        newest = db.session.scalar(select(func.max(CallbackRequest.submitted_at)))
    except Exception:  # noqa: BLE001 - no schema yet
        db.session.rollback()
        return False, "no data set"
    db.session.rollback()
    if closed != historical or active != open_count or manager is None:
        return False, f"holds {closed or 0:,} closed and {active or 0:,} open requests"
    age = datetime.now(UTC) - newest
    return True, f"reusing the data set (built about {age.total_seconds() / 3600:.1f} h ago)"


# --- measuring --------------------------------------------------------------------------------

def nearest_rank(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def time_url(client, url: str, headers: dict, warmup: int, runs: int) -> dict:
    def one() -> tuple[float, int, int]:
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.get_data()
        elapsed = time.perf_counter() - started
        return elapsed, response.status_code, len(body)

    try:
        for _ in range(warmup):
            one()
        samples, statuses, size = [], set(), 0
        for _ in range(runs):
            elapsed, status, size = one()
            samples.append(elapsed)
            statuses.add(status)
    except Exception as error:  # noqa: BLE001 - reported, the other URLs are still measured
        message = str(error).splitlines()[0][:160]
        print(f"  {url}: {type(error).__name__}: {message}", file=sys.stderr)
        return {"error": f"{type(error).__name__}: {message}"}
    return {"p50": statistics.median(samples) * 1000, "p95": nearest_rank(samples, 0.95) * 1000,
            "max": max(samples) * 1000, "status": sorted(statuses), "bytes": size}


def manager_token(app) -> str:
    from chamber_callback.auth import issue_token

    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == MANAGER_EMAIL))
        token = issue_token(user, "bench")
        db.session.commit()
        db.session.remove()
    return token


def second_factor_code(app) -> str:
    """The manager's second factor (required for managers): enrolled here if it is not yet, and a
    code its app would show now that was not used yet."""
    import pyotp

    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == MANAGER_EMAIL))
        if not (user.totp_secret and user.totp_enabled_at):
            user.totp_secret, user.totp_enabled_at = pyotp.random_base32(), utcnow()
            db.session.commit()
        totp = pyotp.TOTP(user.totp_secret)
        last = user.totp_last_step if user.totp_last_step is not None else -1
        current = totp.timecode(utcnow())
        code = totp.generate_otp(next(step for step in (current - 1, current, current + 1) if step > last))
        db.session.remove()
    return code


def logged_in_client(app):
    client = app.test_client()
    code = second_factor_code(app)  # enrols the manager before the password is given
    response = client.post("/connexion", data={"email": MANAGER_EMAIL, "password": PASSWORD})
    if response.status_code == 302 and response.headers["Location"].endswith("/connexion/code"):
        response = client.post("/connexion/code", data={"code": code})
    if response.status_code != 302 or "/connexion" in response.headers["Location"]:
        raise SystemExit(f"login failed: HTTP {response.status_code}")
    return client


def measure_pages(app, warmup: int, runs: int) -> list[tuple[str, str, dict]]:
    token = manager_token(app)
    client = logged_in_client(app)
    results = [("baseline", BASELINE[1], time_url(client, BASELINE[1], {}, warmup, runs))]
    for label, url in PAGES:
        headers = {"Authorization": f"Bearer {token}"} if url.startswith("/api/") else {}
        results.append((label, url, time_url(client, url, headers, warmup, runs)))
        if "p95" in results[-1][2]:
            print(f"  … {url}: p95 {results[-1][2]['p95']:.0f} ms", file=sys.stderr, flush=True)
    return results


# The bare dump the export is compared with: the same 27 request columns (a manager's export includes
# the personal data) and the same rows and order, read through a server-side cursor (yield_per)
# and written raw by csv.writer.
EXPORT_COLUMNS = ("reference", "submitted_at", "unit_id", "departement_code", "topic_id", "sector", "urgent",
                  "urgency_reason", "channel", "status", "sla_deadline", "first_attempt_at", "sla_met",
                  "time_to_first_attempt_s", "first_reached_at", "failed_attempts", "priority", "closed_at",
                  "purged_at", "name", "business_name", "siret", "phone", "email", "postal_code", "commune_name",
                  "description")
TIMEZONE = "Europe/Paris"


def export_range() -> tuple[date, date]:
    """365 local days ending today: just over 1,000,000 requests. (The export accepts 366 days; the
    extra day holds requests whose personal data was erased, whose phone "—" stopped the export
    before 16468e8, so it was left out and still is, for figures comparable between runs.)"""
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    return today - timedelta(days=364), today


def csv_child(mode: str, url: str, path: str) -> None:
    """Runs in a fresh process: stream one export, throw the bytes away, print JSON figures."""
    app = make_app(url)
    client = logged_in_client(app) if mode == "project" else None
    # The application is loaded (and logged in: the password check alone briefly takes 32 MB).
    # Reset the kernel's high-water mark so that the streaming peak is measured on its own.
    # (VmHWM, not ru_maxrss: in a child process ru_maxrss starts from the parent's resident size
    # at fork, which Linux keeps across exec.)
    rss_start = current_rss_mb()
    peak_before = current_rss_mb("VmHWM")
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    started = time.perf_counter()
    rows = size = 0
    first_byte = None
    if mode == "project":
        started = time.perf_counter()
        response = client.get(path, buffered=False)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        for chunk in response.response:
            if first_byte is None:
                first_byte = time.perf_counter() - started
            if isinstance(chunk, str):
                chunk = chunk.encode()
            size += len(chunk)
            rows += chunk.count(b"\n")
        response.close()
        rows -= 1  # the header line
    else:
        args = dict(parse_qsl(urlsplit(path).query))
        first, last = date.fromisoformat(args["du"]), date.fromisoformat(args["au"])
        zone = ZoneInfo(TIMEZONE)
        start = datetime.combine(first, clock(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(last + timedelta(days=1), clock(0), tzinfo=zone).astimezone(UTC)
        table = CallbackRequest.__table__
        query = (select(*(table.c[name] for name in EXPORT_COLUMNS))
                 .where(table.c.submitted_at >= start, table.c.submitted_at < end)
                 .order_by(table.c.submitted_at, table.c.id))
        with app.app_context(), open(os.devnull, "w", newline="") as sink:
            started = time.perf_counter()
            writer = csv.writer(sink, delimiter=";", lineterminator="\r\n")
            with db.engine.connect() as conn:
                result = conn.execution_options(yield_per=1000).execute(query)
                writer.writerow(result.keys())
                for partition in result.partitions():
                    if first_byte is None:
                        first_byte = time.perf_counter() - started
                    writer.writerows(partition)
                    rows += len(partition)
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": elapsed, "rows": rows, "bytes": size, "first_byte": first_byte,
                      "rss_start_mb": rss_start, "stream_peak_mb": current_rss_mb("VmHWM"),
                      "peak_rss_mb": max(peak_before, current_rss_mb("VmHWM"))}))


def current_rss_mb(field: str = "VmRSS") -> float:
    """The process's resident memory now (VmRSS) or its high-water mark (VmHWM), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure_csv(url: str, path: str) -> dict:
    figures = {}
    for mode in ("baseline", "project"):
        output = subprocess.run([sys.executable, __file__, "--csv-child", mode, "--database", url, "--csv-path", path],
                                capture_output=True, text=True, check=False)
        if output.returncode != 0:
            figures[mode] = {"error": (output.stderr or output.stdout).strip().splitlines()[-1:]}
            continue
        figures[mode] = json.loads(output.stdout.strip().splitlines()[-1])
    return figures


def print_pages(name: str, args, results: list) -> None:
    print(f"\n{name}: {args.historical:,} closed + {args.open:,} open requests; "
          f"{args.warmup} warm-up + {args.runs} timed requests per URL (Flask test client, in process)")
    base = results[0][2]
    print(f"  {'':<16}{'URL':<22}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'p95/base':>10}  HTTP   bytes")
    for label, url_, figures in results:
        if "error" in figures:
            print(f"  {label:<16}{url_:<22} failed: {figures['error']}")
            continue
        ratio = figures["p95"] / base["p95"]
        flag = "" if label == "baseline" else ("  ok" if figures["p95"] < 300 else "  > 300 ms")
        if figures["status"] != [200]:
            flag = "  not HTTP 200"
        print(f"  {label:<16}{url_:<22}{figures['p50']:9.1f}{figures['p95']:9.1f}{figures['max']:9.1f}"
              f"{ratio:10.1f}  {','.join(map(str, figures['status']))}  {figures['bytes']:>7,}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLAlchemy URL (default: a SQLite file under /tmp)")
    parser.add_argument("--historical", type=int, default=1_000_000, help="closed requests (default 1,000,000)")
    parser.add_argument("--open", type=int, default=10_000, help="open requests (default 10,000)")
    parser.add_argument("--rebuild", action="store_true", help="build the data set again even if present")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per URL (default 20)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--build-only", action="store_true", help="build (or check) the data set and stop")
    parser.add_argument("--no-csv", action="store_true", help="skip the CSV export")
    parser.add_argument("--no-pages", action="store_true", help="skip the pages (CSV export only)")
    parser.add_argument("--cache-seconds", type=float, default=0,
                        help="DASHBOARD_CACHE_SECONDS for the pages (default 0: every request computes its figures)")
    parser.add_argument("--csv-path", help="export URL (default: /rapports/demandes.csv over the 365 days "
                                           "ending today)")
    parser.add_argument("--csv-child", choices=("project", "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.database or f"sqlite:////tmp/chamber_bench_dash_{args.historical}_{args.open}.sqlite3"
    if not args.csv_path:
        first, last = export_range()
        args.csv_path = f"/rapports/demandes.csv?du={first}&au={last}"
    if args.csv_child:
        csv_child(args.csv_child, url, args.csv_path)
        return

    app = make_app(url, args.cache_seconds)
    with app.app_context():
        backend = db.engine.dialect.name
        ready, state = database_state(args.historical, args.open)
        if ready and not args.rebuild:
            print(state)
            from flask_migrate import upgrade

            upgrade()  # new migrations (an index added since the build) apply to the kept data
        else:
            print(f"building {args.historical:,} closed + {args.open:,} open requests ({state})")
            started = time.perf_counter()
            build(url, args.historical, args.open)
            print(f"built in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        version = db.session.scalar(text("SELECT sqlite_version()" if backend == "sqlite" else "SHOW server_version"))
        db.session.remove()
    if args.build_only:
        return

    name = f"SQLite {version}" if backend == "sqlite" else f"PostgreSQL {version.split()[0]}"
    if not args.no_pages:
        print_pages(name, args, measure_pages(app, args.warmup, args.runs))
    if args.no_csv:
        return
    csv_figures = measure_csv(url, args.csv_path)
    print(f"\n{name}: CSV export, each in a fresh process, bytes thrown away as they come:")
    for mode, label in (("baseline", "bare yield_per cursor + csv.writer"), ("project", "/rapports/demandes.csv")):
        figures = csv_figures[mode]
        if "error" in figures:
            print(f"  {label:<38} failed: {figures['error']}")
            continue
        print(f"  {label:<38} {figures['rows']:>9,} rows  {figures['seconds']:7.1f} s  "
              f"{figures['rows'] / figures['seconds']:>9,.0f} rows/s  first byte {figures['first_byte'] or 0:5.2f} s  "
              f"RSS {figures['rss_start_mb']:4.0f} MB before, {figures['stream_peak_mb']:4.0f} MB peak while "
              f"streaming, {figures['peak_rss_mb']:4.0f} MB whole process")
    if "error" not in csv_figures["baseline"] and "error" not in csv_figures["project"]:
        ratio = csv_figures["project"]["seconds"] / csv_figures["baseline"]["seconds"]
        verdict = "ok" if csv_figures["project"]["peak_rss_mb"] < 200 else "> 200 MB"
        print(f"  ratio export / bare dump: {ratio:.1f} (time); peak RSS {verdict}")


if __name__ == "__main__":
    main()
