"""A Redis of the test's own (redis-server on a free port), which the test stops and starts
again: Redis restarted, or out of reach, as the code under test sees it."""

import socket
import subprocess
import tempfile
import time


def own_redis(port: int, *config: str) -> subprocess.Popen:
    """A Redis of the test's own on `port` that keeps nothing on disk (a restart forgets
    every key, as one without persistence does), answering; `config` on top (a later option
    wins): `"--appendonly", "yes", "--dir", folder` keeps its data in an append-only file there,
    `"--dir", folder` a snapshot the test asks for (SAVE) before it stops."""
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tempfile.gettempdir(), *config],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)


def stopped(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)
