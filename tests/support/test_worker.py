"""The test Celery worker itself (tests.support.worker): it is stopped only once it runs no
task, also when a test reads its output at once after a run record said the task ended; one
told to stop is woken from its wait on the queues."""

import threading
import time
import uuid

import pytest

from config.celery import app
from enrich.redis.client import get_redis
from tests.support import worker as support
from tests.support.worker import celery_worker, output, until

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_output_is_read_once_the_running_task_has_ended():
    """A task still running when the test asks for the output: the worker is stopped after it
    ended, not in the middle (stopped in the moment its result is on its way, a worker waits
    out the task's hard time limit, minutes to hours, and fails the test at 30 s)."""
    with celery_worker("sleepy", app="tests.support.sleepy_app", pool="prefork") as worker:
        result = app.send_task("tests.sleep_for", args=[3])
        inspect = app.control.inspect([worker.node], timeout=1, limit=1)
        until(lambda: (inspect.active() or {}).get(worker.node), worker, seconds=60)
        asked = time.monotonic()
        log = output(worker)
        stopped_after = time.monotonic() - asked
    assert result.get(timeout=5) == 3
    ended = log.index(f"Task tests.sleep_for[{result.id}] succeeded")
    assert ended < log.index("Warm shutdown"), log
    assert stopped_after < 30, log


def test_stopping_a_worker_ends_the_wait_on_the_queues_at_once():
    """A worker looks at its SIGTERM when its BRPOP on the queues ends (kombu's one-second
    timeout): stop() ends the database's BRPOPs with a timeout's answer, so it stops now."""
    from django.conf import settings

    redis, queue, answers = get_redis(), f"test-wake-{uuid.uuid4().hex[:8]}", []
    database = str(redis.connection_pool.connection_kwargs.get("db", 0))
    # Blocks until woken (no timeout of its own): without the wake the join below times out.
    waiter = threading.Thread(target=lambda: answers.append(redis.brpop([queue], 0)), daemon=True)
    waiter.start()
    until(lambda: [c for c in redis.client_list() if c["db"] == database and "b" in c["flags"]])
    support._wake(settings.CELERY_BROKER_URL)
    waiter.join(timeout=30)
    assert not waiter.is_alive() and answers == [None]
