"""A worker holding a message it has not acknowledged (a task due later: a retry's countdown)
survives a restart of Redis, its Celery broker: it connects again and runs the tasks sent after
it (enrich.redis.transport). It died, exit code 1 ("Restoring 1 unacknowledged message(s)",
AttributeError in kombu's restore), and under `make run` honcho then stopped every process."""

import pytest

from config.celery import app
from enrich.redis.client import get_redis
from tests.support.broker import broker_at
from tests.support.redis_server import OwnRedis
from tests.support.sleepy_app import sleep_for
from tests.support.worker import celery_worker, until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker():
    """Celery's broker: a redis-server of the test's own, kept without data, which the test
    restarts."""
    broker = OwnRedis()
    try:
        with broker_at(broker.url):
            yield broker
    finally:
        broker.stop()


def test_a_worker_holding_a_task_due_later_survives_a_redis_restart(broker):
    # The results go where the test reads them (the tests' Redis), not to the restarted one.
    env = {"REDIS_URL": broker.url, "CELERY_RESULT_BACKEND": app.conf.result_backend}
    with celery_worker("broker-restart", app="tests.support.sleepy_app", **env) as worker:
        sleep_for.apply_async(args=[0], countdown=600)  # held by the worker until it is due
        until(lambda: get_redis(broker.url).hlen("unacked"), worker, seconds=60)

        broker.stop()
        broker.start()
        after = sleep_for.apply_async(args=[0.5])

        until(after.ready, worker, seconds=60)  # fails if the worker stopped meanwhile
        assert after.get(timeout=1) == 0.5
        assert worker.poll() is None
