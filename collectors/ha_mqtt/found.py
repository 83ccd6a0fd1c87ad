"""enrich's entities among the discovery configs a broker retains.

enrich's configs are told apart from every other integration's by what enrich's payloads carry
(collectors.ha_mqtt.discovery): the origin name `enrich` and a device whose identifiers hold
the topic's node id `<root>_site_<id>`. `manage.py mqtt_remove_entities` reads them to remove
them (collectors.ha_mqtt.cleanup); a publication that finds no record in Redis of what was
published (Redis lost its data) reads those of its root, to take them as published: what it
does not publish now is then removed (or, a meter's circuit, shown unavailable for its day)
instead of showing its last retained value as a current one.
"""

import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from collectors.ha_mqtt.discovery import MANUFACTURER, Topics
from enrich.mqtt.broker import Endpoint
from enrich.mqtt.retained import RetainedReadError, retained_messages
from enrich.wording import counted

log = logging.getLogger("collectors.ha_mqtt")

NODE = re.compile(r"^[A-Za-z0-9_-]+_site_(\d+)$")
# How long the read of every retained config may take (a large broker has thousands).
READ_SECONDS = 30.0


@dataclass(frozen=True)
class Entity:
    config_topic: str
    node: str
    topics: frozenset[str]  # state, attributes and availability topics its config names

    @property
    def root(self) -> str | None:
        """The MQTT_TOPIC_ROOT it was published under: that of its `<root>/status`."""
        return next((t.removesuffix("/status") for t in self.topics if t.endswith("/status")), None)

    @property
    def base(self) -> str | None:
        """Its topic base (`<root>/site_<id>/<key>`): that of its state topic."""
        return next((t.removesuffix("/state") for t in self.topics if t.endswith("/state")), None)


def _full(payload: dict[str, Any], key: str, short: str) -> Any:
    return payload.get(key, payload.get(short))


def _expand(payload: dict[str, Any], topic: Any) -> str | None:
    """A topic of the config, its `~` (base topic) expanded as Home Assistant does."""
    if not isinstance(topic, str) or not topic:
        return None
    base = payload.get("~")
    if isinstance(base, str):
        if topic.startswith("~"):
            return base + topic[1:]
        if topic.endswith("~"):
            return topic[:-1] + base
    return topic


def enrich_entity(prefix: str, topic: str, raw: bytes) -> Entity | None:
    """The entity of a retained config if enrich published it, else None."""
    parts = topic[len(prefix) + 1 :].split("/") if topic.startswith(f"{prefix}/") else []
    if len(parts) != 4 or parts[3] != "config" or not NODE.match(parts[1]):
        return None
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    origin = _full(payload, "origin", "o")
    device = _full(payload, "device", "dev")
    if not isinstance(origin, dict) or origin.get("name") != MANUFACTURER:
        return None
    if not isinstance(device, dict):
        return None
    identifiers = _full(device, "identifiers", "ids") or ()
    if parts[1] not in ([identifiers] if isinstance(identifiers, str) else identifiers):
        return None
    named = [
        _full(payload, "state_topic", "stat_t"),
        _full(payload, "json_attributes_topic", "json_attr_t"),
        _full(payload, "availability_topic", "avty_t"),
    ]
    for entry in _full(payload, "availability", "avty") or ():
        if isinstance(entry, dict):
            named.append(_full(entry, "topic", "t"))
    found = {_expand(payload, name) for name in named}
    return Entity(topic, parts[1], frozenset(t for t in found if t))


def published_under(endpoint: Endpoint, topics: Topics) -> dict[str, str]:
    """{config topic: topic base} of enrich's entities the broker retains under `topics`'
    prefix and root: what a publication published there, when Redis lost its record of it.
    Empty, logged, when they cannot be read: the publication then goes on without them."""
    prefix = topics.discovery_prefix
    try:
        found = retained_messages(endpoint, f"{prefix}/#", timeout=READ_SECONDS)
    except RetainedReadError as exc:
        log.warning(
            "mqtt: Redis has no record of what was published under %s/ and the retained "
            "configs cannot be read, so entities it no longer publishes keep their last "
            "values; `manage.py mqtt_remove_entities` removes them. %s",
            topics.root,
            exc,
        )
        return {}
    entities = [enrich_entity(prefix, topic, raw) for topic, raw in sorted(found.items())]
    record = {e.config_topic: e.base for e in entities if e and e.root == topics.root and e.base}
    if record:
        log.info(
            "mqtt: Redis had no record of what was published under %s/; taken as published: "
            "%s the broker retains there",
            topics.root,
            counted(len(record), "entity", "entities"),
        )
    return record
