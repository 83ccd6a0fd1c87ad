"""Read the retained messages under a topic filter once: what a subscriber gets at once.

The broker sends a new subscription's retained messages right after it accepted the
subscription, before anything published later; so a non-retained marker published once the
subscription is acknowledged arrives after the whole retained set, and ends the read.

A broker's access control list (ACL) may keep enrich from reading, and that must never pass
for "nothing retained" (a root that looks free, a cleanup that finds nothing). Mosquitto 2.0
does it in one of two ways, the same for MQTT 3.1.1 (what this read speaks;
tests/ha_mqtt/test_broker_acl.py) and 5:

- an auth plugin (its dynamic security plugin, among others) refuses the subscription: the
  SUBACK carries a failure code (0x80 in MQTT 3.1.1, 0x87 "Not authorized" in MQTT 5);
- its plain ACL file (`acl_file`) grants every subscription, then delivers only what the user
  may read: nothing at all, without a word, from a tree it may not read. So the marker goes
  under the tree being read (`<tree>/scan/<uuid>`): a broker that acknowledged the marker but
  did not deliver it back, nor anything else, most likely does not let enrich read that tree.
"""

import threading
import uuid

from enrich.errors import Permanent, Transient
from enrich.mqtt.broker import (
    CONNECT_TIMEOUT_SECONDS,
    KEEPALIVE_SECONDS,
    Endpoint,
    new_client,
    tls_refusal,
)


class RetainedReadError(RuntimeError):
    """The retained messages could not be read (one of the two below)."""


class BrokerOutOfReach(RetainedReadError, Transient):
    """No connection, no answer, or not every message in time: it may work later."""


class BrokerRefused(RetainedReadError, Permanent):
    """The broker refused the connection (e.g. its credentials) or, by its ACL, the read: a
    person must change them."""


def _tree(topic_filter: str) -> str:
    """The topic tree a read of `topic_filter` is under, where its marker goes: `a/b/#` and
    `a/b/c` -> `a/b`."""
    if topic_filter.endswith("/#"):
        return topic_filter[:-2]
    return topic_filter.rpartition("/")[0] or topic_filter


def _refused_read(endpoint: Endpoint, topic_filter: str, what: str) -> BrokerRefused:
    """The error of a read the broker's ACL keeps enrich from: `what` it did, then what to grant."""
    tree = _tree(topic_filter)
    return BrokerRefused(
        f"MQTT broker {endpoint.host}:{endpoint.port} {what}. Nothing was read. Let "
        f"{_who(endpoint)} subscribe and publish to {tree}/# in the broker's ACL (Mosquitto's "
        f"acl_file: `topic readwrite {tree}/#`)."
    )


def _who(endpoint: Endpoint) -> str:
    return f"user {endpoint.username!r}" if endpoint.username else "anonymous clients"


def _unfinished(
    endpoint: Endpoint, topic_filter: str, marker: str, timeout: float, acked: bool, found: dict
) -> RetainedReadError:
    """The error of a read whose marker did not come back within `timeout` s."""
    if acked and not found:  # the broker took the marker, yet handed nothing on to enrich
        return _refused_read(
            endpoint,
            topic_filter,
            f"did not deliver enrich's own marker message ({marker}) back within {timeout:.0f} "
            "s, though it acknowledged it: its access control list (ACL) most likely does not "
            f"let {_who(endpoint)} read {_tree(topic_filter)}/# (Mosquitto's acl_file then "
            "delivers nothing, without an error)",
        )
    why = (
        f"{len(found)} did, but not enrich's own marker message, which the broker "
        f"acknowledged: a slow broker, or an ACL that does not let {_who(endpoint)} read all "
        f"of {_tree(topic_filter)}/#"
        if acked
        else "no answer to enrich's marker message"
    )
    return BrokerOutOfReach(
        f"MQTT broker {endpoint.host}:{endpoint.port}: the retained messages under "
        f"{topic_filter} did not all arrive within {timeout:.0f} s ({why})"
    )


def retained_messages(
    endpoint: Endpoint, topic_filter: str, timeout: float = 30.0
) -> dict[str, bytes]:
    """{topic: payload} of every retained message matching `topic_filter` (empty payloads
    left out). The marker is published (not retained) under the filter's tree, which enrich
    must be allowed to publish to and read. Raises BrokerRefused when the broker refuses the
    connection or (its ACL) the read, BrokerOutOfReach when it cannot be reached or the read
    does not end within `timeout` seconds."""
    marker = f"{_tree(topic_filter)}/scan/{uuid.uuid4().hex}"
    client = new_client(endpoint, f"enrich-scan-{uuid.uuid4().hex[:8]}")
    found: dict[str, bytes] = {}
    subscribed, done, refused, granted = threading.Event(), threading.Event(), [], []

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            refused.append(str(reason_code))
            subscribed.set()
            return
        client.subscribe([(topic_filter, 1), (marker, 1)])

    def on_subscribe(client, userdata, _mid, reason_code_list, properties) -> None:
        granted.extend(reason_code_list)
        subscribed.set()

    def on_message(client, userdata, message) -> None:
        if message.topic == marker:
            done.set()
        elif message.retain and message.payload:
            found[message.topic] = message.payload

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(endpoint.host, endpoint.port, KEEPALIVE_SECONDS)
    except (OSError, ValueError) as exc:
        why = tls_refusal(exc) or exc
        raise BrokerOutOfReach(f"MQTT broker {endpoint.host}:{endpoint.port}: {why}") from None
    client.loop_start()
    try:
        answered = subscribed.wait(CONNECT_TIMEOUT_SECONDS)
        where = f"MQTT broker {endpoint.host}:{endpoint.port}"
        if refused:  # the CONNECT, not a subscription: a wrong login, or none where one is asked
            raise BrokerRefused(f"{where} refused the login of {_who(endpoint)} ({refused[0]})")
        if not answered:
            raise BrokerOutOfReach(f"{where}: could not subscribe (no answer)")
        failures = [code for code in granted if code.is_failure]
        if failures:
            raise _refused_read(
                endpoint,
                topic_filter,
                f"refused to let {_who(endpoint)} subscribe to {topic_filter} (reason code "
                f"0x{failures[0].value:02X}, {failures[0]}), as a broker does when its access "
                "control list (ACL) forbids it",
            )
        sent = client.publish(marker, "end", qos=1, retain=False)
        if not done.wait(timeout):
            raise _unfinished(endpoint, topic_filter, marker, timeout, sent.is_published(), found)
        return dict(found)
    finally:
        client.disconnect()
        client.loop_stop()
