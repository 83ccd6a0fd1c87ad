"""The project's Celery app plus one test-only task that takes `seconds` and then ends: a task
still running when a test reads the worker's output. A worker started with
`celery -A tests.support.sleepy_app` knows it; the project's own workers never do."""

import time

from tests.support.prefork_app import app

__all__ = ("app", "sleep_for")


@app.task(name="tests.sleep_for")
def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds
