"""The project's Celery app, its worker pausing once at a point of a run (retention.faults):
the test sets the Redis key `pause_key()` to "<point>@<n>"; the task reaching that point for
the n-th time sets `paused_key()` and waits (up to 60 s) until the test deletes it, so the
test changes the world at a known step of the run (closes InfluxDB's proxy, say), then lets it
go on. A worker started with `celery -A tests.support.pause_app` does it; the project's never
do. The keys are in the worker's Redis, or in the one `PAUSE_REDIS_URL` names (the test's own,
when the worker's Redis is the one the test stops while it waits).

A worker whose broker is out of reach tries to connect again after kombu's 2 s, then 4 s, 6 s
...: a test that starts its Redis again waited out those seconds. Here the worker tries again
every RECONNECT_SECONDS; it connects, restores and consumes as before.
"""

import functools
import os
import time

from celery.worker.consumer import consumer

from config.celery import app
from enrich.redis.client import get_redis, make_key
from retention import faults

__all__ = ("app", "pause_key", "paused_key")

PAUSE_SECONDS = 60
RECONNECT_SECONDS = 0.2
_point = faults.point
_reached: dict[str, int] = {}


def pause_key() -> str:
    return make_key("test", "pause-at")


def paused_key() -> str:
    return make_key("test", "paused")


def _redis():
    return get_redis(os.environ.get("PAUSE_REDIS_URL") or None)


def _pausing_point(name: str) -> None:
    armed = _redis().get(pause_key()) or ""
    point, _, nth = armed.partition("@")
    if name == point:
        _reached[name] = _reached.get(name, 0) + 1
        if _reached[name] == int(nth or 1):
            _redis().delete(pause_key())
            _redis().set(paused_key(), name)
            deadline = time.monotonic() + PAUSE_SECONDS
            while _redis().exists(paused_key()) and time.monotonic() < deadline:
                time.sleep(0.05)
    _point(name)


faults.point = _pausing_point
_ensure_connected = consumer.Consumer.ensure_connected


def _reconnecting_soon(self, conn):
    conn.ensure_connection = functools.partial(
        conn.ensure_connection,
        interval_start=RECONNECT_SECONDS,
        interval_step=RECONNECT_SECONDS,
        interval_max=RECONNECT_SECONDS,
    )
    return _ensure_connected(self, conn)


consumer.Consumer.ensure_connected = _reconnecting_soon
