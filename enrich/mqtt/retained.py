"""Read the retained messages under a topic filter once: what a subscriber gets at once.

The broker sends a new subscription's retained messages right after it accepted the
subscription, before anything published later; so a non-retained marker published once the
subscription is acknowledged arrives after the whole retained set, and ends the read.
"""

import threading
import uuid

from enrich.errors import Permanent, Transient
from enrich.mqtt.broker import CONNECT_TIMEOUT_SECONDS, KEEPALIVE_SECONDS, Endpoint, new_client


class RetainedReadError(RuntimeError):
    """The retained messages could not be read (one of the two below)."""


class BrokerOutOfReach(RetainedReadError, Transient):
    """No connection, no answer, or not every message in time: it may work later."""


class BrokerRefused(RetainedReadError, Permanent):
    """The broker refused the connection (e.g. its credentials): a person must change them."""


def retained_messages(
    endpoint: Endpoint, topic_filter: str, marker_root: str, timeout: float = 30.0
) -> dict[str, bytes]:
    """{topic: payload} of every retained message matching `topic_filter` (empty payloads
    left out). The marker is published (not retained) under `marker_root`, a topic tree enrich
    may publish to. Raises RetainedReadError when the broker cannot be reached or the read does
    not end within `timeout` seconds."""
    marker = f"{marker_root}/scan/{uuid.uuid4().hex}"
    client = new_client(endpoint, f"enrich-scan-{uuid.uuid4().hex[:8]}")
    found: dict[str, bytes] = {}
    subscribed, done, refused = threading.Event(), threading.Event(), []

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            refused.append(str(reason_code))
            subscribed.set()
            return
        client.subscribe([(topic_filter, 1), (marker, 1)])

    def on_message(client, userdata, message) -> None:
        if message.topic == marker:
            done.set()
        elif message.retain and message.payload:
            found[message.topic] = message.payload

    client.on_connect = on_connect
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = on_message
    try:
        client.connect(endpoint.host, endpoint.port, KEEPALIVE_SECONDS)
    except (OSError, ValueError) as exc:
        raise BrokerOutOfReach(f"MQTT broker {endpoint.host}:{endpoint.port}: {exc}") from None
    client.loop_start()
    try:
        if not subscribed.wait(CONNECT_TIMEOUT_SECONDS) or refused:
            why = refused[0] if refused else "no answer"
            failed = BrokerRefused if refused else BrokerOutOfReach
            raise failed(f"MQTT broker {endpoint.host}: could not subscribe ({why})")
        client.publish(marker, "end", qos=1, retain=False)
        if not done.wait(timeout):
            raise BrokerOutOfReach(
                f"MQTT broker {endpoint.host}: the retained messages under {topic_filter} did "
                f"not all arrive within {timeout:.0f} s"
            )
        return dict(found)
    finally:
        client.disconnect()
        client.loop_stop()
