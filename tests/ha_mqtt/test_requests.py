"""Publication requests through the real Celery broker (Redis): a burst of writes enqueues one
`mqtt.publish_states`, and a publication that has started lets the next change ask again."""

from datetime import UTC, datetime

import pytest
from django.conf import settings as django_settings

from collectors.ha_mqtt import tasks
from collectors.models import CollectorRun
from config.celery import app
from enrich.mqtt.broker import current_broker
from enrich.redis.client import get_redis
from enrich.redis.lock import RunLock

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]


@pytest.fixture
def queue(topics):
    """The length of the default queue on the Celery broker, emptied before and after."""
    app.control.purge()
    broker = get_redis(django_settings.CELERY_BROKER_URL)
    yield lambda: broker.llen("default")
    app.control.purge()
    connection = current_broker()
    if connection is not None:
        connection.stop()


def test_a_burst_of_writes_asks_for_one_publication(queue):
    for _ in range(5):
        tasks.request_publish()
    assert queue() == 1
    [message] = get_redis(django_settings.CELERY_BROKER_URL).lrange("default", 0, -1)
    assert '"task": "mqtt.publish_states"' in message


def test_once_a_publication_started_the_next_change_asks_again(queue, subscriber):
    tasks.request_publish()
    assert tasks.run()["status"] == "ok"  # what the worker runs for the queued message
    tasks.request_publish()
    assert queue() == 2


def test_without_mqtt_url_nothing_is_asked(queue, settings):
    settings.MQTT_URL = ""
    tasks.request_publish()
    assert queue() == 0
    assert tasks.run() == {"status": "off"}


def test_a_publication_waits_for_the_one_running_and_gives_up_busy(queue, topics, monkeypatch):
    monkeypatch.setattr(tasks, "LOCK_WAIT_SECONDS", 0.3)
    running = RunLock("mqtt_publish", topics.discovery_prefix, topics.root, owner="another")
    assert running.acquire()
    try:
        assert tasks.run() == {"status": "busy"}
    finally:
        running.release()
    assert tasks.run()["status"] == "ok"  # the lock was released: this one publishes


def test_a_failed_run_that_wrote_points_asks_for_a_publication(
    queue, django_capture_on_commit_callbacks
):
    # A run that wrote its points and failed after (collectors.after_write) asked nothing:
    # Home Assistant went on showing the values from before its points.
    def recorded(points: int) -> int:
        app.control.purge()
        with django_capture_on_commit_callbacks(execute=True):
            CollectorRun.objects.create(source="air_quality", provider="airnow", target="x",
                                        started=datetime.now(UTC), status="failed",
                                        points_written=points)  # fmt: skip
        return queue()

    assert recorded(4) == 1
    assert recorded(0) == 0  # failed before the write: nothing shown has changed
