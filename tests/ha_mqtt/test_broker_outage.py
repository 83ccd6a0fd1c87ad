"""The broker going away costs nothing: collection goes on, the connection comes back with
backoff. And enrich's status: online while publications renew it, offline (the shared last
will) once they stop; tests/ha_mqtt/test_availability.py kills real publishing processes."""

import threading
import time

import pytest
from django.db import connection

from collectors.ha_mqtt import tasks
from collectors.ha_mqtt.publisher import publish_all
from enrich.influx import get_timeseries
from enrich.mqtt import presence
from enrich.mqtt.broker import Broker, Endpoint, current_broker
from tests.ha_mqtt import homes
from tests.ha_mqtt.conftest import MQTT_TEST_URL, Subscriber
from tests.support.mosquitto import start_mosquitto
from tests.support.ports import free_port


@pytest.fixture
def stop_connections():
    yield
    broker = current_broker()
    if broker is not None:
        broker.stop()


@pytest.mark.django_db
@pytest.mark.influxdb
def test_collection_goes_on_while_the_broker_is_down_then_states_appear(
    topics, subscriber, settings, stop_connections, django_capture_on_commit_callbacks
):
    settings.MQTT_URL = f"mqtt://127.0.0.1:{free_port()}"  # nothing listens there
    site = homes.home()
    config = homes.airnow_config(site)
    started = time.monotonic()
    with django_capture_on_commit_callbacks() as requested:
        # The real pipeline: AirNow replayed, written to InfluxDB, the run recorded.
        outcome = homes.collect(config, homes.scenarios_air_quality.airnow)
    assert time.monotonic() - started < 5
    assert outcome.status == "ok"
    # The options saved by the test helper, then the write: each asks for a publication.
    assert requested == [tasks.request_publish, tasks.request_publish]
    rows = list(
        get_timeseries().query(settings.INFLUXDB_DATABASE, 'SELECT "aqi" FROM "air_quality"')
    )
    assert len(rows) == outcome.points_written == 4

    started = time.monotonic()
    assert tasks.run() == {"status": "broker_unavailable"}
    assert time.monotonic() - started < tasks.CONNECT_WAIT_SECONDS + 1

    settings.MQTT_URL = MQTT_TEST_URL  # the broker is back
    assert tasks.run() == {"status": "ok", "entities": 2 + 7, "removed": 0}
    state = f"{topics.root}/site_{site.pk}/aqi/state"
    assert subscriber.wait_for(lambda m: m.get(state) == "62.0")
    assert subscriber.wait_for(lambda m: m.get(topics.status) == "online")


@pytest.mark.django_db(transaction=True)
@pytest.mark.influxdb
def test_reconnects_with_backoff_and_republishes_everything(topics, tmp_path):
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    broker = Broker(url).start()
    reconnects: list[bool] = []
    republished = threading.Event()

    def republish() -> None:
        try:
            publish_all(broker, topics)
            republished.set()
        finally:
            # The thread's own database connection, or the test database could not be dropped
            # at the end of the run ("being accessed by other users").
            connection.close()

    def on_connect(reconnected: bool) -> None:
        reconnects.append(reconnected)
        if reconnected:  # as tasks.py does through Celery: a full publication
            threading.Thread(target=republish).start()

    broker.on_connect(on_connect)
    homes.carbon(homes.home())
    server = start_mosquitto(port, tmp_path)
    try:
        assert broker.wait_connected(15), "no connection once the broker started"
        assert publish_all(broker, topics)["status"] == "ok"
        server.terminate()
        server.wait(10)
        deadline = time.monotonic() + 10
        while broker.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not broker.connected
        # Broker down: publishing neither blocks nor raises, it reports the drop.
        started = time.monotonic()
        assert broker.publish(f"{topics.root}/x", "y") is False
        assert time.monotonic() - started < 0.1

        server = start_mosquitto(port, tmp_path)  # a fresh broker: no retained messages
        watcher = Subscriber(url, f"{topics.discovery_prefix}/#", f"{topics.root}/#")
        try:
            assert republished.wait(70), "not republished after the reconnect"
            assert reconnects == [False, True]
            assert watcher.wait_for(
                lambda m: (
                    sum(t.endswith("/config") for t in m) == 10 and m.get(topics.status) == "online"
                )
            ), sorted(watcher.messages)
        finally:
            watcher.stop()
    finally:
        broker.stop()
        server.terminate()
        server.wait(10)


def test_renewals_keep_enrich_online_and_silence_turns_it_offline(topics, subscriber):
    endpoint = Endpoint.parse(MQTT_TEST_URL)
    # Publications by any process, each within 2 s of the one before: online throughout (3 s,
    # past the first renewal's will had the next not replaced it).
    for _ in range(2):
        assert presence.renew(endpoint, topics.status, offline_after=2)
        time.sleep(1.5)
    # Then none: the will the broker held since the last renewal is published 2 s after it.
    assert presence.renew(endpoint, topics.status, offline_after=2)
    renewed = time.monotonic()
    assert subscriber.wait_for(lambda m: m.get(topics.status) == "offline", 15)
    assert time.monotonic() - renewed >= 1
    statuses = [p for t, p, _ in subscriber.log if t == topics.status]
    assert statuses == ["online"] * 3 + ["offline"]
    late = Subscriber(MQTT_TEST_URL, topics.status)  # retained for whoever comes later
    try:
        assert late.wait_for(lambda m: m.get(topics.status) == "offline")
    finally:
        late.stop()


def test_a_released_will_is_never_published(topics, subscriber):
    endpoint = Endpoint.parse(MQTT_TEST_URL)
    assert presence.renew(endpoint, topics.status, offline_after=1)
    assert presence.release(endpoint, topics.status)
    time.sleep(3)
    assert [p for t, p, _ in subscriber.log if t == topics.status] == ["online"]
