"""Find and remove the Home Assistant entities enrich left on the broker (manage.py
mqtt_remove_entities): after MQTT_TOPIC_ROOT (or the prefix) changed or MQTT publishing was
turned off, the reconcile step of each publication (collectors.ha_mqtt.publisher) no longer
knows them and they stay, unavailable, for ever.

enrich's configs are told apart from every other integration's ones by
collectors.ha_mqtt.found. Removing one publishes an empty retained config (Home Assistant
deletes the entity) and, once the broker has it and Home Assistant had SETTLE_SECONDS to handle
it (it unsubscribes from the entity's topics only then: clears reaching it before are logged as
bad messages), clears the retained state, attributes and availability topics the config
names, except those a kept entity still uses, and drops it from the record
of what the publications published (`forget`): a circuit in its day without a value
(publisher.GONE_AFTER) is not published again, unavailable.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings

from collectors.ha_mqtt import owner, publisher
from collectors.ha_mqtt.discovery import Topics
from collectors.ha_mqtt.found import Entity
from collectors.ha_mqtt.publisher import desired_messages
from enrich.mqtt.broker import Endpoint

# How long Home Assistant gets to handle the empty configs before the topics they named are
# cleared: it handles each as it arrives, within milliseconds when idle.
SETTLE_SECONDS = 2.0


def wanted(topics: Topics) -> tuple[set[str], set[str]]:
    """(config topics the current configuration publishes now, nodes kept whole): nothing
    with MQTT_URL unset; a site whose meter cannot be read now keeps every config of its node."""
    if not settings.MQTT_URL:
        return set(), set()
    configs, _, unread = desired_messages(topics, datetime.now(UTC))
    return set(configs), {topics.node(site_id) for site_id in unread}


def plan(entities: list[Entity], removing: list[Entity]) -> tuple[list[str], list[str]]:
    """(the config topics to clear, the topics they name to clear once Home Assistant dropped
    the entities), leaving out topics an entity that stays still reads."""
    gone = {entity.config_topic for entity in removing}
    kept = set().union(*(e.topics for e in entities if e.config_topic not in gone))
    named = set().union(*(e.topics for e in removing)) - kept
    return sorted(gone), sorted(named)


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
