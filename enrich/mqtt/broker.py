"""The one MQTT connection of a process (paho-mqtt 2.x), built so a broker outage costs nothing.

- paho's own loop thread connects and reconnects in the background with exponential backoff
  (1 s doubling to 60 s); no caller ever waits on the network for longer than it asks to.
- It carries no last will: many processes publish (each Celery worker child has its own
  connection) and any one of them may stop while the others go on. Whether enrich as a whole
  is online is kept by `enrich.mqtt.presence`, not by any one process's connection.
- `publish` never blocks and never raises for a broker problem: while disconnected it drops
  the message and returns False. Nothing is lost by that because configs are retained and
  states are recomputed: every (re)connect calls the `on_connect` callbacks, which publish the
  full current state again.
"""

import logging
import os
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from enrich.errors import Permanent
from enrich.mqtt.address import split

log = logging.getLogger(__name__)

RECONNECT_MIN_SECONDS, RECONNECT_MAX_SECONDS = 1, 60
CONNECT_TIMEOUT_SECONDS = 5.0
KEEPALIVE_SECONDS = 30
# While connected, paho buffers outgoing QoS 1 messages; beyond this many it refuses more
# instead of growing without bound if the broker stalls (a home's full publication is a few
# hundred messages; a refused one makes the publication count as interrupted).
MAX_QUEUED_MESSAGES = 20000
# MQTT 5 DISCONNECT reason codes: 0 drops the will, 4 has the broker publish it (after its delay).
NORMAL, WITH_WILL = 0, 4


class BadMqttUrl(ValueError, Permanent):
    """MQTT_URL is no MQTT URL: retrying cannot help."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None = field(repr=False)
    ca_cert: str = ""  # mqtts: the PEM file of the CA the broker's certificate is checked with

    @classmethod
    def parse(cls, url: str, given: str = "MQTT_URL", ca_cert: str | None = None) -> "Endpoint":
        """mqtt://[user[:password]@]host[:port] (1883) or mqtts://... (TLS, 8883); `given`:
        where the URL comes from, as a refusal names it (a command's "--url"); `ca_cert`:
        the CA of an mqtts:// broker's certificate (None: MQTT_CA_CERT's, "": the system's)."""
        parts, port = split(url)
        named = (
            f"{given} {redacted(url)!r}" if given.startswith("-") else f"{given}={redacted(url)!r}"
        )
        if parts is None or parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise BadMqttUrl(
                f"{named} is not valid: use mqtt://host:1883 or mqtts://user:password@host:8883."
            )
        tls = parts.scheme == "mqtts"
        if port == 0:
            raise BadMqttUrl(f"{named} has an invalid port.")
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ca_cert=configured_ca() if ca_cert is None else ca_cert,
        )


def configured_ca() -> str:
    """MQTT_CA_CERT: the home's own CA that signed the broker's certificate, or ""."""
    from django.conf import settings

    return getattr(settings, "MQTT_CA_CERT", "")


def tls_refusal(exc: BaseException) -> str:
    """Why a TLS connection failed the certificate check, naming MQTT_CA_CERT; "" for another
    failure (a refused or lost connection)."""
    if not isinstance(exc, ssl.SSLCertVerificationError):
        return ""
    return (
        f"the broker's TLS certificate could not be verified ({exc.verify_message}): set "
        "MQTT_CA_CERT to the PEM file of the certificate authority that signed it (the home's "
        "own), and check that it names MQTT_URL's host"
    )


class _Client(mqtt.Client):
    """paho's client, keeping why its last connection attempt failed the TLS check (its
    background loop retries without saying why)."""

    tls_refused = ""

    def reconnect(self) -> mqtt.MQTTErrorCode:
        try:
            answer = super().reconnect()
        except OSError as exc:
            self.tls_refused = tls_refusal(exc)
            raise
        self.tls_refused = ""
        return answer


def redacted(url: str) -> str:
    parts, _ = split(url)
    if parts is None:  # no URL: what stands before its last "@" may hold a password
        return url if "@" not in url else f"***@{url.rpartition('@')[2]}"
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def new_client(endpoint: Endpoint, client_id: str, protocol=mqtt.MQTTv311) -> mqtt.Client:
    """A paho client for `endpoint` (credentials, TLS), not yet connected."""
    client = _Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
    if endpoint.username is not None:
        client.username_pw_set(endpoint.username, endpoint.password)
    if endpoint.tls:
        client.tls_set(ca_certs=endpoint.ca_cert or None)
    client.connect_timeout = CONNECT_TIMEOUT_SECONDS
    return client


def visit_session(
    endpoint: Endpoint,
    client_id: str,
    *,
    expiry: int,
    will: tuple[str, str] | None,
    message: tuple[str, str] | None,
    timeout: float = CONNECT_TIMEOUT_SECONDS,
) -> bool:
    """Resume the MQTT 5 session `client_id` (clean start off), publish `message` (topic,
    payload; retained, acknowledged) and leave. With `will` (topic, payload, retained) it leaves
    with "disconnect with will message": the broker keeps that will pending for `expiry`
    seconds (its will delay and the session's expiry) and drops it if the session is resumed
    before. Without, it leaves normally and a pending will of the session is gone. False
    (logged) when the broker could not be reached, refused, or did not acknowledge."""
    client = new_client(endpoint, client_id, protocol=mqtt.MQTTv5)
    if will is not None:
        delay = Properties(PacketTypes.WILLMESSAGE)
        delay.WillDelayInterval = expiry
        client.will_set(*will, qos=1, retain=True, properties=delay)
    session = Properties(PacketTypes.CONNECT)
    session.SessionExpiryInterval = expiry
    answered, accepted = threading.Event(), []

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        accepted.append(not reason_code.is_failure)
        if reason_code.is_failure:
            log.warning("mqtt: %s refused session %s: %s", endpoint.host, client_id, reason_code)
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect(
            endpoint.host, endpoint.port, KEEPALIVE_SECONDS, clean_start=False, properties=session
        )
    except (OSError, ValueError) as exc:
        why = tls_refusal(exc) or exc
        log.warning("mqtt: session %s not reached at %s: %s", client_id, endpoint.host, why)
        return False
    client.loop_start()
    try:
        if not answered.wait(timeout):
            log.warning("mqtt: session %s: no answer from %s", client_id, endpoint.host)
            return False
        if not accepted[0]:
            return False
        if message is not None:
            info = client.publish(*message, qos=1, retain=True)
            info.wait_for_publish(timeout)
            if not info.is_published():
                log.warning("mqtt: session %s: %s not acknowledged", client_id, message)
                return False
        return True
    except (RuntimeError, ValueError) as exc:
        log.warning("mqtt: session %s: %s not acknowledged: %s", client_id, message, exc)
        return False
    finally:
        leave = WITH_WILL if will is not None else NORMAL
        client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=leave))
        client.loop_stop()


class Broker:
    """One client connection of this process, without a last will."""

    def __init__(self, url: str, client_prefix: str = "enrich") -> None:
        self.endpoint = Endpoint.parse(url)
        self.url = redacted(url)
        self._connected = threading.Event()
        self._callbacks: list[Callable[[bool], None]] = []
        self._connects = 0
        self._last: mqtt.MQTTMessageInfo | None = None
        client_id = f"{client_prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.client = new_client(self.endpoint, client_id)
        self.client.reconnect_delay_set(RECONNECT_MIN_SECONDS, RECONNECT_MAX_SECONDS)
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
    def stopped(self) -> bool:
        return self._stopping

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def unreachable(self) -> str:
        """Why it is not connected, as far as known: "" or ": <the TLS check's refusal>"."""
        refused = getattr(self.client, "tls_refused", "")
        return f": {refused}" if refused else ""

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = True) -> bool:
        """Hand a message to paho (QoS 1); False when not connected (the message is dropped,
        the next (re)connect republishes everything)."""
        if not self.connected:
            return False
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.warning("mqtt: %s not published (%s)", topic, mqtt.error_string(info.rc))
            return False
        self._last = info
        return True

    def flush(self, timeout: float) -> bool:
        """Wait up to `timeout` s until the broker acknowledged everything handed over so far.

        The broker acknowledges QoS 1 messages of one connection in order, so waiting for the
        last one handed over is enough.
        """
        if not self.connected:
            return False
        if self._last is None:
            return True
        try:
            self._last.wait_for_publish(timeout)
        except (RuntimeError, ValueError):
            return False
        return self._last.is_published()

    def stop(self) -> None:
        """Leave cleanly. Nothing is said about enrich being offline: other processes may go
        on publishing (enrich.mqtt.presence says when none does)."""
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
_broker_key: tuple[str, int] | None = None
_lock = threading.Lock()


def get_broker(url: str) -> Broker:
    """This process's connection to `url`, started on first use (and again after a stop).

    Keyed by process id too: paho's loop thread does not survive a fork (Celery's prefork
    pool), so a child builds its own connection.
    """
    global _broker, _broker_key
    key = (url, os.getpid())
    with _lock:
        if _broker is None or _broker_key != key or _broker.stopped:
            if _broker is not None and _broker_key and _broker_key[1] == os.getpid():
                _broker.stop()
            _broker, _broker_key = Broker(url).start(), key
        return _broker


def current_broker() -> Broker | None:
    """The connection this process has started, if any (for shutdown)."""
    if _broker is not None and _broker_key and _broker_key[1] == os.getpid():
        return _broker
    return None
