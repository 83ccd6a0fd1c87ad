"""Find and remove the Home Assistant entities enrich left on the broker (manage.py
mqtt_remove_entities): after MQTT_TOPIC_ROOT changed, MQTT publishing was turned off, or
Redis lost its record of what was published, the reconcile step of each publication
(collectors.ha_mqtt.publisher) no longer knows them and they stay, unavailable, for ever.

enrich's configs are told apart from every other integration's by what enrich's payloads carry
(collectors.ha_mqtt.discovery): the origin name `enrich` and a device whose identifiers hold
the topic's node id `<root>_site_<id>`. Removing one publishes an empty retained config (Home
Assistant deletes the entity), then clears the retained state, attributes and availability
topics the config names, except those a kept entity still uses, and drops it from the record
of what the publications published (`forget`): a circuit in its day without a value
(publisher.GONE_AFTER) is not published again, unavailable.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from collectors.ha_mqtt import owner, publisher
from collectors.ha_mqtt.discovery import MANUFACTURER, Topics
from collectors.ha_mqtt.publisher import desired_messages
from enrich.mqtt.broker import Endpoint

NODE = re.compile(r"^[A-Za-z0-9_-]+_site_(\d+)$")


@dataclass(frozen=True)
class Entity:
    config_topic: str
    node: str
    topics: frozenset[str]  # state, attributes and availability topics its config names

    @property
    def root(self) -> str | None:
        """The MQTT_TOPIC_ROOT it was published under: that of its `<root>/status`."""
        return next((t.removesuffix("/status") for t in self.topics if t.endswith("/status")), None)


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


def wanted(topics: Topics) -> tuple[set[str], set[str]]:
    """(config topics the current configuration publishes now, nodes kept whole): nothing
    with MQTT_URL unset; a site whose meter cannot be read now keeps every config of its node."""
    if not settings.MQTT_URL:
        return set(), set()
    configs, _, unread = desired_messages(topics, datetime.now(UTC))
    return set(configs), {topics.node(site_id) for site_id in unread}


def plan(entities: list[Entity], removing: list[Entity]) -> list[str]:
    """The topics to clear, config topics first (Home Assistant drops the entity before its
    state topics empty), leaving out topics an entity that stays still reads."""
    gone = {entity.config_topic for entity in removing}
    kept = set().union(*(e.topics for e in entities if e.config_topic not in gone))
    named = set().union(*(e.topics for e in removing)) - kept
    return sorted(gone) + sorted(named)


def recorded_here(endpoint: Endpoint) -> bool:
    """Whether what the publications recorded in Redis is about the broker at `endpoint`:
    MQTT_URL's (with MQTT_URL empty nothing publishes, so any)."""
    if not settings.MQTT_URL:
        return True
    current = Endpoint.parse(settings.MQTT_URL)
    return (current.host, current.port) == (endpoint.host, endpoint.port)


def forget(prefix: str, removing: list[Entity]) -> None:
    """Drop the entities removed from the record of what each root's publications published,
    so the next publication neither removes them again nor keeps them, unavailable, for the
    rest of their day without a value (their points stored in InfluxDB stay as they are)."""
    roots: dict[str, list[str]] = {}
    for entity in removing:
        if entity.root:
            roots.setdefault(entity.root, []).append(entity.config_topic)
    for root, configs in sorted(roots.items()):
        publisher.forget(Topics(prefix, root), configs)


@dataclass(frozen=True)
class Owners:
    """Whose the topic roots of enrich's entities on the broker are (collectors.ha_mqtt.owner)."""

    mine: set[str]  # roots this enrich owns
    others: dict[str, dict]  # root -> the owner message of another enrich

    def releasable(self, entities: list[Entity], removing: list[Entity], keep: str) -> list[str]:
        """The owner topics of this enrich's roots left without an entity, except `keep`."""
        kept = {e.root for e in entities if e not in removing}
        return [owner.owner_topic(r) for r in sorted(self.mine - kept) if r != keep]


def owners(endpoint: Endpoint, entities: list[Entity], root: str) -> Owners:
    """Who owns `root` and each root of `entities`. Raises RetainedReadError."""
    mine, others = set(), {}
    instance = owner.instance_id()
    for each in sorted({e.root for e in entities if e.root} | {root}):
        found = owner.current_owner(endpoint, each)
        if found is not None and found.get("instance") == instance:
            mine.add(each)
        elif found is not None:
            others[each] = found
    return Owners(mine, others)
