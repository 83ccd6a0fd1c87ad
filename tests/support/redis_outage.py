"""Work repeated every minute (a minute task, the Home Assistant publication) sent to a real
worker whose Redis of the caches, locks and budgets (REDIS_URL) is a redis-server of the test's
own (tests.support.redis_server), stopped under it and started again; the worker's Celery broker
and results stay the tests' Redis, so the work still reaches it."""

import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from tests.support.redis_server import OwnRedis
from tests.support.worker import celery_worker, output


@dataclass
class Outage:
    url: str  # the stopped Redis's REDIS_URL
    up: list  # what each run returned before Redis stopped
    down: list  # ... while it was stopped
    back: list  # ... once it was started again
    log: str  # the worker's output


def over_an_outage(
    runs: Callable[[int], list],
    node: str,
    env: dict[str, str],
    ready: Callable[[subprocess.Popen], None] = lambda worker: None,
) -> Outage:
    """`runs(n)` (sends the work n times, returns what each run returned) once with Redis up
    (after `ready(worker)`: what the worker does as it starts is over), 3 times with it
    stopped, twice once it is started again (empty: a Redis restarted without its data), by a
    worker with `env` on top; what they returned, and the worker's log."""
    redis = OwnRedis()
    env = {**env, "REDIS_URL": redis.url, "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
           "CELERY_RESULT_BACKEND": settings.CELERY_RESULT_BACKEND}  # fmt: skip
    try:
        with celery_worker(node, **env) as worker:
            ready(worker)
            up = runs(1)
            redis.stop()
            down = runs(3)
            redis.start()
            back = runs(2)
            log = output(worker)
    finally:
        redis.stop()
    return Outage(redis.url, up, down, back, log)
