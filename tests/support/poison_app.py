"""The project's Celery app plus one test-only task that kills the process running it, as the
kernel's out-of-memory killer would: a poison task. A worker started with
`celery -A tests.support.poison_app` knows it; the project's own workers never do."""

import os
import signal

from enrich.redis.client import get_redis
from tests.support.prefork_app import app

__all__ = ("app", "kill_own_worker")


@app.task(name="tests.kill_own_worker")
def kill_own_worker(started_key: str) -> None:
    get_redis().incr(started_key)  # how often it really started, for the test to read
    os.kill(os.getpid(), signal.SIGKILL)
