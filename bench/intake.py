"""Intake under load: POST /api/v1/callback-requests served by gunicorn as the Procfile runs it,
against a minimal endpoint (one raw INSERT, one Redis push) under the same server settings.

Each side gets a fresh database and a private Redis, then `wrk` sends distinct valid submissions
from 127.0.0.1 for --duration seconds over --connections connections. Printed: requests a second,
latency percentiles, non-2xx answers and socket errors (a reset connection is a read error), and
the project's throughput as a share of the baseline's.

    .venv/bin/python bench/intake.py                                   # PostgreSQL chamber_bench
    .venv/bin/python bench/intake.py --database sqlite                 # SQLite
    .venv/bin/python bench/intake.py --duration 30 --connections 16    # the defaults

Needs wrk (apt-get install wrk). Rate limits are off for the run: from one address they would
refuse nearly everything, which is their job, not what is measured here.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._processes import free_port, private_redis, wait_http

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/chamber_bench"
PAYLOAD = {
    "name": "Karim Benali", "business_name": "Plomberie Benali", "siret": "73282932000074",
    "sector": "batiment", "postal_code": "13008", "topic": "pge",
    "description": "Ma banque hésite pour le prêt garanti.", "urgent": False, "consent": True,
}
# Each wrk thread numbers its own mobile range (06 1x, 06 2x, 06 4x…; 07 3x and 07 4x for the
# warm-up): every submission is new, none is answered as a duplicate.
WRK_SCRIPT = """
local body_prefix = %(prefix)s
local ranges = %(ranges)s
local threads, counter = {}, 0
function setup(thread)
  thread:set("range", ranges[#threads + 1])
  table.insert(threads, thread)
end
function init(args) counter = 0 end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local phone = string.format("+33%%s%%07d", range, counter)
  return wrk.format(nil, nil, nil, body_prefix .. '"phone": "' .. phone .. '"}')
end
done = function(summary, latency, requests)
  local statuses = 0
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


@dataclass
class Run:
    label: str
    requests: int
    seconds: float
    connect_errors: int
    read_errors: int
    write_errors: int
    non_2xx: int
    timeouts: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rows: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def socket_errors(self) -> int:
        return self.connect_errors + self.read_errors + self.write_errors + self.timeouts


def prepare_database(url: str) -> str:
    """A fresh, migrated database; returns its SQLAlchemy URL."""
    if url == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-intake-')}/intake.sqlite3"
    env = {**os.environ, "DATABASE_URL": url, "INSTANCE_PATH": tempfile.mkdtemp(prefix="bench-instance-")}
    code = ("from chamber_callback import create_app\nfrom bench._schema import fresh_schema\n"
            "app = create_app()\nwith app.app_context(): fresh_schema()\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)
    return url


def baseline_table(url: str) -> None:
    from sqlalchemy import create_engine, text

    from bench._baseline_app import SCHEMA

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS bench_baseline"))
        connection.execute(text(SCHEMA[engine.dialect.name]))
    engine.dispose()


def count_rows(url: str, table: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return count


def serve(app_spec: str, url: str, redis_url: str, port: int, extra_env: dict) -> subprocess.Popen:
    instance = tempfile.mkdtemp(prefix="bench-instance-")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "0",
           "INSTANCE_PATH": instance, **extra_env}
    log = open(Path(instance) / "server.log", "w")  # noqa: SIM115 - the server's, closed with it
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
                               f"127.0.0.1:{port}", "--access-logfile", "/dev/null", app_spec],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server.log_path = log.name
    wait_http(f"http://127.0.0.1:{port}/", server)
    return server


def load(label: str, port: int, args, url: str, table: str) -> Run:
    prefix = json.dumps(json.dumps(PAYLOAD, ensure_ascii=False)[:-1] + ", ", ensure_ascii=False)

    def script(ranges: list[str]) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as file:
            file.write(WRK_SCRIPT % {"prefix": prefix, "ranges": "{" + ", ".join(f'"{r}"' for r in ranges) + "}"})
        return file.name

    # A short warm-up (imports, connection pools, caches), then the measured run.
    target = f"http://127.0.0.1:{port}/api/v1/callback-requests"
    warm_up = script(["73", "74"])
    subprocess.run(["wrk", "-t", "2", "-c", "4", "-d", "3s", "-s", warm_up, target], capture_output=True, check=True)
    os.unlink(warm_up)
    measured = script(["61", "62", "64", "65", "66", "67", "68", "69"][:args.threads])
    before = count_rows(url, table)
    result = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
                             "--timeout", "10s", "-s", measured, target],
                            capture_output=True, text=True, check=True)
    os.unlink(measured)
    numbers = [int(value) for value in re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE).group(1).split()]
    requests, duration_us, connect, read, write, status, timeout, p50, p95, p99, worst = numbers
    return Run(label, requests, duration_us / 1e6, connect, read, write, status, timeout, p50 / 1000, p95 / 1000,
               p99 / 1000, worst / 1000, count_rows(url, table) - before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=DEFAULT_PG, help="a PostgreSQL URL, or 'sqlite'")
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--server-env", action="append", default=[],
                        help="NAME=VALUE for both servers (e.g. WEB_THREADS=8), repeatable")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")
    extra = dict(item.split("=", 1) for item in args.server_env)
    runs = []
    with private_redis() as redis_url:
        url = prepare_database(args.database)
        baseline_table(url)
        port = free_port()
        server = serve("bench._baseline_app:create()", url, redis_url, port, extra)
        try:
            runs.append(load("baseline: one INSERT + one LPUSH", port, args, url, "bench_baseline"))
        finally:
            server.terminate()
            server.wait(timeout=30)
        port = free_port()
        server = serve("chamber_callback:create_app()", url, redis_url, port,
                       {"APP_ENV": "production", "SECRET_KEY": "bench-" + "x" * 40, "MAIL_LOG_IN_PRODUCTION": "1",
                        "PUBLIC_BASE_URL": "https://rappel.example.fr", **extra})
        try:
            runs.append(load("chamber-callback intake", port, args, url, "callback_requests"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    print(f"\nIntake, {database}, gunicorn.conf.py {' '.join(args.server_env)} — {args.connections} connections, "
          f"{args.duration} s of wrk from 127.0.0.1\n")
    header = f"{'':34} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'non-2xx':>8} " \
             f"{'socket err':>10} {'rows':>7}"
    print(header)
    for run in runs:
        print(f"{run.label:34} {run.per_second:8.0f} {run.p50_ms:7.1f} {run.p95_ms:7.1f} {run.p99_ms:7.1f} "
              f"{run.max_ms:7.0f} {run.non_2xx:8d} {run.socket_errors:10d} {run.rows:7d}")
    base, project = runs
    print(f"\nratio (project / baseline throughput): {project.per_second / base.per_second:.2f}")
    print(f"socket errors: connect {project.connect_errors}, read (resets) {project.read_errors}, "
          f"write {project.write_errors}, timeouts {project.timeouts}")
    lost = project.requests - project.non_2xx - project.rows
    print(f"answered 2xx but not stored: {max(lost, 0)}")


if __name__ == "__main__":
    main()
