"""One enrich per MQTT_TOPIC_ROOT on a broker.

Two enrich deployments (two databases) publishing under the same root on one broker would
publish the same unique ids and topics (`<root>_site_1`, `<root>/site_1/...`): each one's
states and discovery configs would overwrite the other's every minute, each one's removal step
would delete the other's entities, and Home Assistant would show a mix of two homes under one
device. So each enrich has an id of its own (`MqttInstance`, one row of its database, shared by
all its processes), and the root says whose it is: a retained `<root>/instance` message,
`{"instance": <id>, "host": <hostname>}`, that every publication of its owner repeats.

Before publishing, a publication reads that message: none, or this enrich's, and it publishes
(claiming the root); another enrich's, and it publishes nothing and raises RootTaken, whose
message names MQTT_TOPIC_ROOT and the other enrich. Whether that other enrich still runs does
not matter: taking its root over while it is down would show this home's values under the
other home's entities, and the other home's again once it is back. `manage.py mqtt_take_root`
hands the root over on purpose (the other enrich gone for good).
"""

import json
import logging
import socket
import uuid
from typing import Any

from django.db import IntegrityError, transaction

from collectors.ha_mqtt.discovery import Topics
from collectors.models import MqttInstance
from enrich.errors import Permanent
from enrich.mqtt.broker import Endpoint
from enrich.mqtt.retained import RetainedReadError, retained_messages

log = logging.getLogger("collectors.ha_mqtt")

# How long a publication waits for the retained owner message (the broker answered already).
READ_SECONDS = 5.0


class RootTaken(RuntimeError, Permanent):
    """Another enrich publishes under MQTT_TOPIC_ROOT on this broker."""


def owner_topic(root: str) -> str:
    return f"{root}/instance"


def instance_id() -> str:
    """This enrich's id, made at its first publication and kept in its database."""
    found = MqttInstance.objects.filter(pk=1).values_list("instance", flat=True).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return MqttInstance.objects.create(pk=1, instance=uuid.uuid4().hex).instance
    except IntegrityError:  # another process made it first
        return MqttInstance.objects.get(pk=1).instance


def claim(instance: str) -> str:
    """The retained payload that says `instance` publishes under the root."""
    return json.dumps({"host": socket.gethostname(), "instance": instance}, sort_keys=True)


def _read(payload: bytes) -> dict[str, Any]:
    try:
        found = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        found = None
    return found if isinstance(found, dict) else {"instance": payload.decode(errors="replace")}


def current_owner(endpoint: Endpoint, root: str, timeout: float = READ_SECONDS) -> dict | None:
    """The owner message under `root` on the broker ({"instance", "host"}), None when none.
    Raises RetainedReadError when it cannot be read."""
    topic = owner_topic(root)
    found = retained_messages(endpoint, topic, timeout=timeout)
    return _read(found[topic]) if topic in found else None


def taken_message(root: str, owner: dict, endpoint: Endpoint) -> str:
    host = owner.get("host") or "an unknown host"
    return (
        f"MQTT_TOPIC_ROOT={root!r} on {endpoint.host}:{endpoint.port} belongs to another enrich "
        f"(instance {owner.get('instance')}, on {host}): publishing under it would overwrite "
        "that enrich's Home Assistant entities and remove them. Nothing was published. Give "
        "this enrich a root of its own (e.g. MQTT_TOPIC_ROOT=enrich_2), or, if that enrich is "
        "gone for good, run `manage.py mqtt_take_root`."
    )


def check(endpoint: Endpoint, topics: Topics) -> str | None:
    """This enrich's id when the root is free or its own (the publication then claims it);
    None when the owner could not be read (it publishes without claiming). Raises RootTaken
    when another enrich owns the root."""
    mine = instance_id()
    try:
        owner = current_owner(endpoint, topics.root)
    except RetainedReadError as exc:
        # Not knowing is not "free": publish all the same, but claim nothing.
        log.warning(
            "mqtt: could not read %s, so whether MQTT_TOPIC_ROOT=%r is another enrich's is "
            "unknown; publishing without claiming it. %s",
            owner_topic(topics.root),
            topics.root,
            exc,
        )
        return None
    if owner is not None and owner.get("instance") != mine:
        raise RootTaken(taken_message(topics.root, owner, endpoint))
    return mine
