"""Ctrl-C on `make run`: the web, the worker and the scheduler stop first, the embedded Redis last,
and nobody prints a traceback (the worker used to lose Redis under it and keep RQ's scheduler lock)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests

from tests.conftest import _free_port

ROOT = Path(__file__).resolve().parents[2]


def test_ctrl_c_stops_redis_last_and_quietly(tmp_path):
    redis_port, web_port = _free_port(), _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TEST_", "REDIS_", "DATABASE_"))}
    env.update(INSTANCE_PATH=str(tmp_path), EMBEDDED_REDIS_PORT=str(redis_port), CC_PORT=str(web_port),
               PATH=f"{Path(sys.executable).parent}:{env['PATH']}", PYTHONUNBUFFERED="1")
    subprocess.run([sys.executable, "-m", "flask", "--app", "chamber_callback", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "start", "-f", "Procfile.dev"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        connection = redis.Redis(port=redis_port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 60
        while True:  # a worker registered with RQ, holding the scheduler lock
            try:
                if connection.keys("rq:scheduler-lock:*") or connection.keys("rq:scheduler_lock:*"):
                    break
            except redis.exceptions.ConnectionError:
                pass
            assert honcho.poll() is None and time.monotonic() < deadline, "make run did not start"
            time.sleep(0.3)
        for _ in range(2):  # both gunicorn processes may hold a Redis connection now
            assert requests.get(f"http://127.0.0.1:{web_port}/healthz", timeout=10).status_code == 200
        connection.close()  # Redis waits for its clients: this test is not one of the system's
        time.sleep(1)
        honcho.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = honcho.communicate(timeout=30)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
    assert "Traceback" not in output and "ConnectionError" not in output, output
    assert "embedded Redis: stopped" in output, output
    lines = output.splitlines()
    redis_stopped = next(i for i, line in enumerate(lines) if "embedded Redis: stopped" in line)
    # RQ's scheduler let go of its locks while Redis was there; everyone exited cleanly.
    released = [i for i, line in enumerate(lines) if "worker.1" in line and "releasing locks" in line]
    assert released and released[0] < redis_stopped, output
    for process in ("web.1", "worker.1", "scheduler.1", "redis.1"):
        assert any(f"{process} stopped (rc=0)" in line for line in lines), (process, output)
