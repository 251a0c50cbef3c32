"""Operators' endpoints: /readyz with the worker's and the scheduler's heartbeats, /metrics for
Prometheus (protected, figures from the database and Redis, the latency histogram shared by
gunicorn's processes)."""
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from rq import Worker

from chamber_callback.clock import utcnow
from chamber_callback.queues import beat_scheduler, get_queue
from chamber_callback.services import assignment as engine
from tests.conftest import DATABASE_URL, REDIS_URL, _free_port, empty_tables, make_app

from .helpers import T0, make_request, make_staff

TOKEN = "operator-" + "x" * 30
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ops_app(_migrated):
    app = make_app(OPERATOR_TOKEN=TOKEN)
    connection = app.extensions["redis"]
    connection.flushdb()
    with app.app_context():
        yield app
        empty_tables()
    connection.flushdb()


def test_readyz_needs_a_worker_and_the_scheduler_to_beat(ops_app):
    client = ops_app.test_client()
    assert client.get("/healthz").status_code == 200  # this process can serve
    response = client.get("/readyz", headers=AUTH)
    assert response.status_code == 503
    assert response.json["checks"]["worker"] == {"ok": False, "seconds_since_heartbeat": None}
    connection = ops_app.extensions["redis"]
    worker = Worker([get_queue("assignment", connection)], connection=connection, name="worker-on-host-a")
    worker.register_birth()
    worker.heartbeat()
    beat_scheduler(connection, utcnow() - timedelta(minutes=3))  # a scheduler that stopped
    checks = client.get("/readyz", headers=AUTH).json["checks"]
    assert checks["worker"]["ok"] and not checks["scheduler"]["ok"]
    assert checks["scheduler"]["seconds_since_heartbeat"] >= 180
    beat_scheduler(connection, utcnow())
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json == {"status": "ok"}  # no details without the token
    worker.register_death()


def test_metrics_need_the_token_or_an_internal_address(ops_app, _migrated):
    assert ops_app.test_client().get("/metrics").status_code == 403
    assert ops_app.test_client().get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert ops_app.test_client().get("/metrics", headers=AUTH).status_code == 200
    open_app = make_app(OPERATOR_TOKEN=None)
    with open_app.app_context():
        assert open_app.test_client().get("/metrics").status_code == 200  # from 127.0.0.1
        outside = open_app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "80.12.34.56"})
        assert outside.status_code == 403


def samples(text: str, name: str) -> list[tuple[dict, float]]:
    """Every sample of a metric: (its labels, its value)."""
    found = []
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match:
            found.append((dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or "")), float(match.group(2))))
    return found


def sample(text: str, name: str, **labels) -> float:
    values = [value for found, value in samples(text, name) if found == labels]
    assert values, f"{name} {labels} not in the metrics"
    return values[0]


def test_metrics_read_the_queue_the_offers_and_the_calls(ops_app, client):
    agent = make_staff(unit="est")
    make_request(now=T0 - timedelta(minutes=30))
    make_request(now=T0)
    waiting = make_request(unit="est")
    assert engine.assign_request(waiting.id, T0) == agent.id
    ops_app.test_client().get("/")  # one timed request
    text = ops_app.test_client().get("/metrics", headers=AUTH).get_data(as_text=True)
    assert sample(text, "chamber_queue_depth", unit="idf-nord-om", channel="web") == 2
    assert [labels for labels, _value in samples(text, "chamber_queue_depth")] == [
        {"unit": "idf-nord-om", "channel": "web"}]  # the offered one waits no more
    assert sample(text, "chamber_offers_total", status="pending") == 1
    assert sample(text, "chamber_oldest_wait_seconds", unit="idf-nord-om") > 0
    assert sample(text, "chamber_redis_up") == 1
    assert sample(text, "chamber_jobs_failed", queue="assignment") == 0
    assert sample(text, "chamber_http_request_duration_seconds_count", method="GET", route="/", status="200") >= 1
    assert waiting.reference not in text and agent.email not in text
    assert "# TYPE chamber_calls_total counter" in text and "# TYPE chamber_breaches_total counter" in text


def test_the_latency_histogram_adds_up_across_gunicorn_processes(tmp_path, _migrated):
    """Two gunicorn workers in prometheus-client's multiprocess mode: /metrics counts both."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "OPERATOR_TOKEN": TOKEN,
           "PORT": str(port), "WEB_CONCURRENCY": "2", "INSTANCE_PATH": str(tmp_path),
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "RATELIMIT_ENABLED": "0"}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
                               f"127.0.0.1:{port}", "chamber_callback:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/livez", timeout=10)
                break
            except requests.RequestException:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        # New connections each time, until both processes have answered some (each writes its own
        # file; the kernel may hand a busy or still-booting process none for a while).
        sent, deadline = 0, time.monotonic() + 60
        while sent < 40 or len(list((tmp_path / "prometheus").glob("histogram_*.db"))) < 2:
            assert time.monotonic() < deadline, "only one gunicorn process answered"
            assert requests.get(base + "/livez", timeout=5).status_code == 200
            sent += 1
        text = requests.get(base + "/metrics", headers=AUTH, timeout=10).text
        assert sample(text, "chamber_http_request_duration_seconds_count", method="GET", route="/livez",
                      status="200") >= sent  # both processes' requests (and the start-up probe)
        assert len(list((tmp_path / "prometheus").glob("histogram_*.db"))) == 2  # one file per process
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
