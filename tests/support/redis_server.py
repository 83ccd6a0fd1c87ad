"""A Redis of the test's own (redis-server on a free port), which the test stops and starts
again: Redis restarted, or out of reach, as the code under test sees it."""

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.support.ports import free_port


def asking_once(url: str | None = None, **kwargs) -> redis.Redis:
    """A redis-py client of `url` (or of `kwargs`: port, password, ...) that sends each command
    once. redis-py's default tries a refused or dropped connection 10 times more with backoff,
    about 3.5 s, before it raises: what a test that meets a Redis it stopped, one shutting
    down or one refusing its login then waited out."""
    kwargs["retry"] = Retry(NoBackoff(), 0)
    return redis.Redis.from_url(url, **kwargs) if url else redis.Redis(**kwargs)


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


class OwnRedis:
    """A redis-server of the test's own on a free port (`config`: see own_redis), which the
    test stops and starts again."""

    def __init__(self, *config: str) -> None:
        self.port, self.config = free_port(), config
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = own_redis(self.port, *config)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stopped(self.proc)

    def start(self) -> None:
        self.proc = own_redis(self.port, *self.config)


class CommandsRedis(OwnRedis):
    """Redis as a command run in the test's process uses it (REDIS_URL: the store of the run's
    locks): stopped before the command starts, or once the run reaches a crash point
    (retention.faults), then started again (empty) for the rerun."""

    def __init__(self) -> None:
        super().__init__()
        self._point = pytest.MonkeyPatch()

    def stop_at(self, point: str | None) -> None:
        """Stop it now (`point` None), or when the run first reaches `point`."""
        if point is None:
            self.stop()
            return

        def reached(name: str) -> None:
            if name == point:
                self.stop()

        self._point.setattr("retention.faults.point", reached)

    def stop(self) -> None:
        self._point.undo()
        super().stop()

    def back(self) -> None:
        """Started again; the crash point stops nothing any more."""
        self._point.undo()
        self.start()

    def unavailable(self, what: str) -> str:
        """How the RedisUnavailable message of `what` (a lock) out of this Redis begins."""
        return f"{what} is unavailable: cannot reach Redis at REDIS_URL={self.url} ("


@pytest.fixture(name="commands_redis")
def commands_redis_fixture(settings) -> Iterator[CommandsRedis]:
    redis = CommandsRedis()
    settings.REDIS_URL = redis.url
    yield redis
    redis.stop()
