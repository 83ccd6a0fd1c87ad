"""A worker whose Redis broker is out of reach longer than Celery's connection retries last
(broker_connection_max_retries: 100 by default, about 47 minutes; here made short by
tests.support.short_retries_app) connects again once Redis is back and runs what is sent: a
Home Assistant host rebooted or upgraded for an hour leaves no worker dead. With Celery's
default the worker gave up: after its last retry it logged a CRITICAL and exited (code 1), so
no task sent once Redis was back was run."""

import re
import time

import pytest
from celery import Celery

from tests.support.redis_server import OwnRedis
from tests.support.short_retries_app import RETRIES
from tests.support.worker import celery_worker, logged, stop, until

# The worker's database is the test database (tests.support.worker).
pytestmark = pytest.mark.django_db(transaction=True)


def _outlasting_the_retries(worker_env: dict[str, str]) -> tuple[object, int | None, str]:
    """A worker whose broker, results and Redis are a redis-server of the test's own, stopped
    once the worker consumes until the outage outlasted the short retries (the worker exited,
    or said it tries again past RETRIES), then started again (empty); a task sent then:
    its answer (None when it was not run within 30 s), the worker's exit code (None while it
    runs) and its log."""
    redis = OwnRedis()
    env = {"REDIS_URL": redis.url, "CELERY_BROKER_URL": redis.url,
           "CELERY_RESULT_BACKEND": redis.url, **worker_env}  # fmt: skip
    # Not the current app: the project's tasks (shared_task) are sent by the current app, and
    # the later tests' would go to this stopped Redis.
    sender = Celery("sender", broker=redis.url, backend=redis.url, set_as_current=False)
    try:
        with celery_worker("long-outage", app="tests.support.short_retries_app", **env) as worker:
            until(lambda: "ready." in _log(worker), worker)
            redis.stop()
            until(lambda: worker.poll() is not None or _retries(_log(worker)) > RETRIES)
            redis.start()
            sent = sender.send_task("celery.accumulate", args=[42], queue="default")
            answer = _answer(sender, sent.id, worker)
            exited = worker.poll()
            stop(worker)  # not on the tests' broker: it answers no inspect call there
            return answer, exited, _log(worker)
    finally:
        sender.close()
        redis.stop()


def _answer(sender: Celery, task_id: str, worker, seconds: float = 30):
    """The task's result once stored (read from the result store, not waited for on its
    channel: a subscription outlives the test's Redis), or None once the worker exited or
    after `seconds`."""
    deadline = time.monotonic() + seconds
    while (meta := sender.backend.get_task_meta(task_id))["status"] != "SUCCESS":
        if worker.poll() is not None or time.monotonic() >= deadline:
            return None
        time.sleep(0.2)
    return meta["result"]


def _retries(log: str) -> int:
    """The most retries of its broker connection the worker's `log` counts ("Trying again in
    4.00 seconds... (2/None)")."""
    return max(map(int, re.findall(r"Trying again .*\((\d+)/", log)), default=0)


def _log(worker) -> str:
    worker.log.seek(0)
    return worker.log.read()


def test_celerys_own_limit_leaves_a_worker_that_runs_nothing():
    answer, exited, log = _outlasting_the_retries({"BROKER_RETRIES": "celery"})
    assert (answer, exited) == (None, 1), log
    [critical] = logged(log, "CRITICAL")
    assert critical.startswith("Unrecoverable error: OperationalError('Error 111 connecting"), log


def test_a_worker_outlives_a_broker_outage_longer_than_the_retries():
    answer, exited, log = _outlasting_the_retries({})
    assert (answer, exited) == ([42], None), log
    assert not logged(log, "CRITICAL"), log
