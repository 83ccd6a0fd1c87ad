"""A real Mosquitto broker on loopback (MQTT_TEST_URL, default mqtt://127.0.0.1:1883, started by
scripts/services.sh mosquitto), with a discovery prefix, topic root, Redis key prefix and
InfluxDB database of its own per test, so concurrent runs never see each other's messages."""

import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest

from collectors.ha_mqtt.discovery import Topics
from enrich.mqtt import presence
from enrich.mqtt.broker import Broker, Endpoint
from tests.support.isolation import own_storage

MQTT_TEST_URL = os.environ.get("MQTT_TEST_URL", "mqtt://127.0.0.1:1883")
SCAN_MARKER = re.compile(r"/scan/[0-9a-f]{32}$")


class Subscriber:
    """Every message under the test's prefix and root, latest payload per topic; `markers`, a
    topic under one of the `filters`, takes the markers of `caught_up` (kept out of both).
    The end markers of enrich's reads of retained messages (`<tree>/scan/<uuid>`, never
    retained: enrich.mqtt.retained) are left out: each publication reads its root's owner."""

    def __init__(
        self, url: str, *filters: str, markers: str | None = None, ca: str | None = None
    ) -> None:
        endpoint = Endpoint.parse(url)
        self.messages: dict[str, str] = {}
        self.log: list[tuple[str, str, bool]] = []
        self._markers = markers
        self._arrived: set[str] = set()
        self._changed = threading.Condition()
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex}"
        )
        if endpoint.username:
            self.client.username_pw_set(endpoint.username, endpoint.password)
        if endpoint.tls:  # mqtts://: the broker's certificate checked with `ca` (else the system's)
            self.client.tls_set(ca_certs=ca)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters])
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(endpoint.host, endpoint.port, 30)
        self.client.loop_start()
        assert subscribed.wait(10), "could not subscribe to the test broker"

    def _on_message(self, client, userdata, message) -> None:
        payload = message.payload.decode()
        if SCAN_MARKER.search(message.topic) and not message.retain:
            return
        with self._changed:
            if self._markers and message.topic.startswith(f"{self._markers}/"):
                self._arrived.add(message.topic)
                self._changed.notify_all()
                return
            self.log.append((message.topic, payload, bool(message.retain)))
            if payload:
                self.messages[message.topic] = payload
            else:
                self.messages.pop(message.topic, None)
            self._changed.notify_all()

    def wait_for(self, check: Callable[[dict[str, str]], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def caught_up(self, broker: Broker, timeout: float = 10.0) -> bool:
        """Whether every message the broker acknowledged so far (`publish_all` returns once it
        did) reached this subscriber within `timeout` s. The broker hands a message to its
        subscribers before it acknowledges it, and forwards them in order: a marker published
        now arrives after them all. Waiting for one topic of a publication instead says
        nothing of the messages published after it."""
        assert self._markers, "a Subscriber made without `markers` cannot tell"
        marker = f"{self._markers}/{uuid.uuid4().hex}"
        if not (broker.publish(marker, "end", retain=False) and broker.flush(timeout)):
            return False
        return self.wait_for(lambda _: marker in self._arrived, timeout)

    def stop(self) -> None:
        # Disconnecting first wakes the loop thread at once; stopping it first waits out its
        # one-second select.
        self.client.disconnect()
        self.client.loop_stop()


def process_env(**extra: str) -> dict[str, str]:
    """What another process (a Celery worker, a publisher) needs to publish this test's
    entities: the broker, topics, Redis key prefix and InfluxDB database; `extra` on top."""
    from django.conf import settings

    names = (
        "MQTT_URL",
        "MQTT_DISCOVERY_PREFIX",
        "MQTT_TOPIC_ROOT",
        "REDIS_KEY_PREFIX",
        "INFLUXDB_DATABASE",
    )
    return {name: str(getattr(settings, name)) for name in names} | extra


@pytest.fixture
def topics(settings) -> Iterator[Topics]:
    tag = uuid.uuid4().hex[:10]
    found = Topics(f"test_ha_{tag}", f"test_enrich_{tag}")
    settings.MQTT_URL = MQTT_TEST_URL
    settings.MQTT_DISCOVERY_PREFIX, settings.MQTT_TOPIC_ROOT = found.discovery_prefix, found.root
    settings.HTTP_BACKOFF_SECONDS, settings.HTTP_MAX_RETRIES = 0.01, 1
    with own_storage(settings, "mqtt"):
        yield found
    # A publication left enrich's `offline` will pending on the shared broker: drop it, or it
    # would be published (and retained) after the test.
    presence.release(Endpoint.parse(MQTT_TEST_URL), found.status)


@pytest.fixture
def subscriber(topics) -> Iterator[Subscriber]:
    watcher = Subscriber(
        MQTT_TEST_URL,
        f"{topics.discovery_prefix}/#",
        f"{topics.root}/#",
        markers=f"{topics.root}/marker",
    )
    yield watcher
    # Leave no retained messages behind on the shared broker.
    cleaner = Broker(MQTT_TEST_URL).start()
    if cleaner.wait_connected(5):
        for topic in [*watcher.messages, topics.status]:
            cleaner.publish(topic, "")
        cleaner.flush(5)
    cleaner.stop()
    watcher.stop()


@pytest.fixture
def broker(topics) -> Iterator[Broker]:
    connection = Broker(MQTT_TEST_URL).start()
    assert connection.wait_connected(10), f"no MQTT broker at {MQTT_TEST_URL}"
    yield connection
    connection.stop()
