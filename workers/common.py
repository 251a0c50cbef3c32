"""Shared start-up for worker processes: wait for Redis instead of crashing at boot."""
import logging
import time

import redis

log = logging.getLogger(__name__)


def wait_for_redis(connection: redis.Redis, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.ping()
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            if time.monotonic() > deadline:
                raise
            log.info("waiting for Redis…")
            time.sleep(1)
