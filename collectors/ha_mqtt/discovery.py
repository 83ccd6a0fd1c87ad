"""Home Assistant MQTT discovery: topic names and the config payload of one entity.

Layout (prefix = MQTT_DISCOVERY_PREFIX, root = MQTT_TOPIC_ROOT, node = `<root>_site_<id>`):

    <prefix>/<component>/<node>/<key>/config   retained discovery config (empty = remove)
    <root>/status                              online / offline (last will), whole enrich
    <root>/site_<id>/<key>/state               the value ("ON"/"OFF" for binary sensors)
    <root>/site_<id>/<key>/attributes          JSON: provider, data time, fetched_at, stale, ...
    <root>/site_<id>/<key>/availability        online when the entity has a value at all

Every entity is available only when both availability topics say `online`
(`availability_mode: all`): enrich is running and there is a value to show. A stale value
stays available (it is the last good answer) and says so in its attributes.
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from enrich.version import VERSION

ONLINE, OFFLINE = "online", "offline"
BINARY_ON, BINARY_OFF = "ON", "OFF"
# HA's MQTT sensor reads this payload as "unknown": known to be absent, e.g. no arrival ahead.
UNKNOWN = "None"
MANUFACTURER = "enrich"


@dataclass(frozen=True)
class EntitySpec:
    """What Home Assistant is told about one entity (its discovery config)."""

    key: str  # object id within the site: [a-z0-9_]
    name: str
    component: str = "sensor"  # or "binary_sensor"
    device_class: str | None = None
    state_class: str | None = None
    unit: str | None = None
    diagnostic: bool = False
    options: tuple[str, ...] = ()  # device_class "enum": every possible state
    icon: str | None = None
    # Decimals Home Assistant shows (its `suggested_display_precision`); None: all the state has.
    precision: int | None = None


@dataclass
class EntityState:
    """One entity's current state: `state` None means unavailable (nothing to show).
    `keep_config`: its config cannot be made now (the price's unit, its currency, unknown):
    the one Home Assistant has stays, and an entity it does not have is not published."""

    spec: EntitySpec
    state: str | None
    attributes: dict[str, Any] = field(default_factory=dict)
    keep_config: bool = False


def slug(text: str) -> str:
    """A topic/object-id safe part: lower case letters, digits and `_`."""
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_") or "unnamed"


def suffixed(key: str, name: str) -> str:
    """`key` with 8 hex digits of the `name` it was made from: the key of an entity whose
    plain key another one holds (collectors.circuit_keys), as names that differ only in what
    slug() drops (case, punctuation, other scripts: "冷蔵庫" and "洗濯機" are both "unnamed")
    stay two entities."""
    return f"{key}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Topics:
    discovery_prefix: str
    root: str

    @property
    def status(self) -> str:
        return f"{self.root}/status"

    def node(self, site_id: int) -> str:
        # Discovery's node_id allows only [a-zA-Z0-9_-]; the root may contain '/'.
        return f"{re.sub(r'[^A-Za-z0-9_-]+', '_', self.root)}_site_{site_id}"

    def config(self, site_id: int, spec: EntitySpec) -> str:
        return f"{self.discovery_prefix}/{spec.component}/{self.node(site_id)}/{spec.key}/config"

    def base(self, site_id: int, key: str) -> str:
        return f"{self.root}/site_{site_id}/{key}"

    def entity_topics(self, site_id: int, key: str) -> tuple[str, str, str]:
        """(state, attributes, availability) topics of one entity."""
        base = self.base(site_id, key)
        return f"{base}/state", f"{base}/attributes", f"{base}/availability"


def _availability(topic: str) -> dict[str, str]:
    return {"topic": topic, "payload_available": ONLINE, "payload_not_available": OFFLINE}


def device_block(
    topics: Topics, site_id: int, site_name: str, link: str | None = None
) -> dict[str, Any]:
    """The site's device: `link`, the start page's public URL (enrich.public_url), is the
    device page's "Visit" link (`configuration_url`); without one there is none."""
    device = {
        "identifiers": [topics.node(site_id)],
        "name": site_name,
        "manufacturer": MANUFACTURER,
        "model": "Site",
        "sw_version": VERSION,
    }
    if link:
        device["configuration_url"] = link
    return device


def config_payload(
    topics: Topics, site_id: int, site_name: str, spec: EntitySpec, link: str | None = None
) -> dict[str, Any]:
    """The discovery config of one entity of one site (`link`: see device_block)."""
    state, attributes, availability = topics.entity_topics(site_id, spec.key)
    payload: dict[str, Any] = {
        "name": spec.name,
        "unique_id": f"{topics.node(site_id)}_{spec.key}",
        "state_topic": state,
        "json_attributes_topic": attributes,
        "availability": [_availability(topics.status), _availability(availability)],
        "availability_mode": "all",
        "device": device_block(topics, site_id, site_name, link),
        "origin": {"name": MANUFACTURER},
    }
    if spec.component == "binary_sensor":
        payload["payload_on"], payload["payload_off"] = BINARY_ON, BINARY_OFF
    optional = {
        "device_class": spec.device_class,
        "state_class": spec.state_class,
        "unit_of_measurement": spec.unit,
        "entity_category": "diagnostic" if spec.diagnostic else None,
        "icon": spec.icon,
        "suggested_display_precision": spec.precision,
    }
    payload.update({name: value for name, value in optional.items() if value is not None})
    if spec.options:
        payload["options"] = list(spec.options)
    return payload
