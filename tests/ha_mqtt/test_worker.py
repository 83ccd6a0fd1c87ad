"""The production path through a real Celery worker on the Redis broker: the worker publishes
when it starts, a collection that wrote data publishes again, and once the only worker has
stopped enrich turns offline (MQTT_OFFLINE_AFTER_SECONDS after its last publication). A worker
that starts while a load's run is under way publishes the start planned before it."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from collectors.ha_mqtt.publisher import publish_all
from config.celery import app
from tests.collectors.scenarios_air_quality import AIRNOW_CURRENT_PATH
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import process_env
from tests.ha_mqtt.processes import OFFLINE_AFTER
from tests.support import configs
from tests.support.worker import celery_worker, output

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.influxdb]


def test_worker_start_and_each_write_publish(topics, subscriber, settings, replay_server):
    replay_server.add(
        "GET",
        AIRNOW_CURRENT_PATH,
        json=replay_server.load_fixture("airnow/observation_current.json"),
    )
    site = homes.home()
    configs.airnow(site, replay_server.url, api_key="test-airnow-key-123")
    base = f"{topics.root}/site_{site.pk}/aqi"
    env = process_env(MQTT_OFFLINE_AFTER_SECONDS=str(OFFLINE_AFTER))
    with celery_worker("mqtt", **env) as worker:
        # At start: the entity exists, unavailable until AirNow answered.
        if not subscriber.wait_for(lambda m: m.get(f"{base}/availability") == "offline", 60):
            pytest.fail(f"nothing published at worker start; worker output:\n{output(worker)}")
        # Once the publication was acknowledged, enrich says it is online.
        assert subscriber.wait_for(lambda m: m.get(topics.status) == "online")
        assert app.send_task("collectors.dispatch_air_quality").get(timeout=60) == 1
        published = {f"{base}/state": "62.0", f"{base}/availability": "online"}
        if not subscriber.wait_for(lambda m: published.items() <= m.items(), 60):
            pytest.fail(f"nothing published after the write; worker output:\n{output(worker)}")
        output(worker)  # stops it once it runs no task (failing with its log after 30 s)
    started = time.monotonic()
    assert subscriber.wait_for(lambda m: m.get(topics.status) == "offline", 30)
    assert time.monotonic() - started < 30


def test_a_worker_started_while_a_run_is_under_way_keeps_its_start(
    topics, subscriber, broker, settings
):
    # Planned two minutes ago by another process (the prices rise from that hour on: running
    # now is best), the start is what a worker starting now publishes, not its own moment.
    planned = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    anchor = planned.replace(minute=0, second=0)
    site = homes.utc_home(settings.INFLUXDB_DATABASE, anchor, prices=homes.RISING)
    dishwasher = homes.load(site, anchor, carbon_price=0)
    assert publish_all(broker, topics, now=planned)["status"] == "ok"
    topic = f"{topics.root}/site_{site.pk}/load_{dishwasher.pk}_start/state"
    assert subscriber.wait_for(lambda m: m.get(topic) == planned.isoformat())
    seen = len(subscriber.log)
    with celery_worker("mqtt", **process_env()) as worker:
        if not subscriber.wait_for(lambda _: topic in {t for t, *_ in subscriber.log[seen:]}, 60):
            pytest.fail(f"nothing published at worker start; worker output:\n{output(worker)}")
        output(worker)
    assert {p for t, p, _ in subscriber.log[seen:] if t == topic} == {planned.isoformat()}
