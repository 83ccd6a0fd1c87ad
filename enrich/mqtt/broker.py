"""The one MQTT connection of a process (paho-mqtt 2.x), built so a broker outage costs nothing.

- paho's own loop thread connects and reconnects in the background with exponential backoff
  (1 s doubling to 60 s); no caller ever waits on the network for longer than it asks to.
- The availability topic gets `offline` as the last will (retained): when the process dies or
  loses its connection the broker marks enrich unavailable; every (re)connect publishes
  `online` (retained).
- `publish` never blocks and never raises for a broker problem: while disconnected it drops
  the message and returns False. Nothing is lost by that because configs are retained and
  states are recomputed: every (re)connect calls the `on_connect` callbacks, which publish the
  full current state again.
"""

import logging
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

log = logging.getLogger(__name__)

ONLINE, OFFLINE = "online", "offline"
RECONNECT_MIN_SECONDS, RECONNECT_MAX_SECONDS = 1, 60
CONNECT_TIMEOUT_SECONDS = 5.0
KEEPALIVE_SECONDS = 30
# While connected, paho buffers outgoing QoS 1 messages; beyond this many it refuses more
# instead of growing without bound if the broker stalls (a home's full publication is a few
# hundred messages; a refused one makes the publication count as interrupted).
MAX_QUEUED_MESSAGES = 20000


class BadMqttUrl(ValueError):
    pass


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = field(repr=False)

    @classmethod
    def parse(cls, url: str) -> "Endpoint":
        """mqtt://[user[:password]@]host[:port] (1883) or mqtts://... (TLS, 8883)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BadMqttUrl(
                f"MQTT_URL={redacted(url)!r} is not valid: use mqtt://host:1883 or "
                "mqtts://user:password@host:8883."
            )
        tls = parts.scheme == "mqtts"
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise BadMqttUrl(f"MQTT_URL={redacted(url)!r} has an invalid port.") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


class Broker:
    """One client connection with a last will on `availability_topic`."""

    def __init__(self, url: str, availability_topic: str, client_prefix: str = "enrich") -> None:
        self.endpoint = Endpoint.parse(url)
        self.url = redacted(url)
        self.availability_topic = availability_topic
        self._connected = threading.Event()
        self._callbacks: list[Callable[[bool], None]] = []
        self._connects = 0
        client_id = f"{client_prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if self.endpoint.username is not None:
            self.client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            self.client.tls_set()
        self.client.will_set(availability_topic, OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(RECONNECT_MIN_SECONDS, RECONNECT_MAX_SECONDS)
        self.client.connect_timeout = CONNECT_TIMEOUT_SECONDS
        self.client.max_queued_messages_set(MAX_QUEUED_MESSAGES)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self._started = False
        self._stopping = False

    def start(self) -> "Broker":
        """Connect in the background (returns at once); the loop thread keeps reconnecting."""
        if not self._started:
            self._started = True
            self.client.connect_async(self.endpoint.host, self.endpoint.port, KEEPALIVE_SECONDS)
            self.client.loop_start()
        return self

    def on_connect(self, callback: Callable[[bool], None]) -> None:
        """`callback(reconnected)` runs on paho's thread after each successful connect."""
        self._callbacks.append(callback)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = True) -> bool:
        """Hand a message to paho (QoS 1); False when not connected (the message is dropped,
        the next (re)connect republishes everything)."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("mqtt: %s not published (%s)", topic, mqtt.error_string(info.rc))
            return False
        return True

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until the broker acknowledged everything handed over so far.

        The broker acknowledges QoS 1 messages of one connection in order, so waiting for one
        last marker (`online` on the availability topic, true while we are connected) is enough.
        """
        if not self.connected:
            return False
        info = self.client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return info.is_published()

    def stop(self, *, offline: bool = True) -> None:
        """Leave cleanly: mark enrich offline first (a clean disconnect sends no last will)."""
        if offline and self.connected:
            info = self.client.publish(self.availability_topic, OFFLINE, qos=1, retain=True)
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("mqtt: %s refused the connection: %s", self.url, reason_code)
            return
        self._connects += 1
        reconnected = self._connects > 1
        log.info("mqtt: %s to %s", "reconnected" if reconnected else "connected", self.url)
        client.publish(self.availability_topic, ONLINE, qos=1, retain=True)
        self._connected.set()
        for callback in self._callbacks:
            try:
                callback(reconnected)
            except Exception:  # a callback bug must not kill paho's network thread
                log.exception("mqtt: on_connect callback failed")

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stopping:
            log.warning(
                "mqtt: lost the connection to %s (%s); reconnecting in the background",
                self.url,
                reason_code,
            )


_broker: Broker | None = None
_broker_key: tuple[str, str, int] | None = None
_lock = threading.Lock()


def get_broker(url: str, availability_topic: str) -> Broker:
    """This process's connection for (url, availability topic), started on first use.

    Keyed by process id too: paho's loop thread does not survive a fork (Celery's prefork
    pool), so a child builds its own connection.
    """
    global _broker, _broker_key
    key = (url, availability_topic, os.getpid())
    with _lock:
        if _broker is None or _broker_key != key:
            if _broker is not None and _broker_key and _broker_key[2] == os.getpid():
                _broker.stop()
            _broker, _broker_key = Broker(url, availability_topic).start(), key
        return _broker


def current_broker() -> Broker | None:
    """The connection this process has started, if any (for shutdown)."""
    if _broker is not None and _broker_key and _broker_key[2] == os.getpid():
        return _broker
    return None
