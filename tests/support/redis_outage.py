"""Work repeated every minute (a minute task, the Home Assistant publication) sent to a real
worker whose Redis of the caches, locks and budgets (REDIS_URL) is a redis-server of the test's
own (tests.support.redis_server), stopped under it and started again; the worker's Celery broker
and results stay the tests' Redis, so the work still reaches it."""

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from tests.support.redis_server import OwnRedis
from tests.support.worker import celery_worker, logged, output


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


def said_in_one_line_a_run(
    outage: Outage, who: str, effect: str, later: int, what: str = "Redis"
) -> None:
    """The worker's log says `who`'s outage as enrich.redis.outage does, `effect` its cost: no
    traceback, one ERROR with the whole error naming the stopped Redis's REDIS_URL (`what` of
    it was out of reach, as RedisUnavailable says), `later`
    WARNINGs that it still cannot be reached, and one INFO once it answers again."""
    log = outage.log
    assert "Traceback" not in log, log
    [error] = [e for e in logged(log, "ERROR") if e.startswith(f"{who}:")]
    assert error.startswith(
        f"{who}: Redis cannot be reached; {effect}, and each run says so in one line until "
        f"Redis answers again: {what} is unavailable: cannot reach Redis at REDIS_URL={outage.url} ("
    ), error
    still = [w for w in logged(log, "WARNING") if w.startswith(f"{who}:")]
    assert len(still) == later, log
    since = r"\(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)"
    assert all(re.fullmatch(rf"{who}: Redis still cannot be reached {since}; {re.escape(effect)}", w)
               for w in still), still  # fmt: skip
    assert [i for i in logged(log, "INFO") if "answers again" in i] == [
        f"{who}: Redis answers again"
    ], log
