"""What Home Assistant's MQTT integration and its sensor entities accept, restated as facts (its
discovery and sensor schemas, its sensor device classes' units and state classes), for checking
every config and state enrich publishes: `problems(config, state)` says what Home Assistant
would refuse, log as invalid or show wrong. Only the device classes enrich uses, and those it
must not be mistaken for (monetary, energy), are listed."""

import json
import math
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

ANY_STATE_CLASS = {"measurement", "total", "total_increasing"}
# device class -> the state classes HA accepts with it (empty: none, a non-numeric state)
STATE_CLASSES = {
    "aqi": {"measurement"},
    "power": {"measurement"},
    "data_size": ANY_STATE_CLASS,
    "monetary": {"total"},
    "energy": {"total", "total_increasing"},
    "timestamp": set(),
    "enum": set(),
    "date": set(),
}
# device class -> the units HA accepts with it (None: no unit)
UNITS = {
    "aqi": {None},
    "power": {"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"},
    "data_size": {
        "bit",
        "kbit",
        "Mbit",
        "Gbit",
        "B",
        "kB",
        "MB",
        "GB",
        "TB",
        "PB",
        "KiB",
        "MiB",
        "GiB",
        "TiB",
        "PiB",
    },  # fmt: skip
    "energy": {"Wh", "kWh", "MWh", "GWh", "MJ", "GJ"},
    "timestamp": {None},
    "enum": {None},
    "date": {None},
}
BINARY_DEVICE_CLASSES = {"occupancy", "presence", "power", "problem", "running", None}
# Attribute names the MQTT integration drops from json_attributes_topic (they are the
# entity's own): an attribute by one of these names never reaches Home Assistant. The union
# over its releases (MQTT_ATTRIBUTES_BLOCKED named "name" before "friendly_name"), so a user
# on an older Home Assistant loses none either; the sensor adds state_class and last_reset.
BLOCKED_ATTRIBUTES = {
    "assumed_state", "available", "context_recent_time", "device_class", "device_info",
    "entity_category", "entity_picture", "entity_registry_enabled_default",
    "extra_state_attributes", "force_update", "friendly_name", "icon", "name", "should_poll",
    "state", "supported_features", "unique_id", "unit_of_measurement", "state_class",
    "last_reset",
}  # fmt: skip
# The recorder stores no attributes at all of a state whose attributes are larger (its
# recorder/db_schema.py, MAX_STATE_ATTRS_BYTES; the entity's own, such as friendly_name and
# unit_of_measurement, count too).
MAX_ATTRIBUTES_BYTES = 16384
# The keys of a discovery config's `device` (mqtt/schemas.py, MQTT_ENTITY_DEVICE_INFO_SCHEMA,
# a voluptuous Schema without extra keys: any other one makes Home Assistant refuse the config),
# by their full names as enrich writes them (Home Assistant expands abbreviations, `sw`, first).
DEVICE_KEYS = {
    "identifiers", "connections", "manufacturer", "model", "model_id", "name", "hw_version",
    "serial_number", "sw_version", "via_device", "suggested_area", "configuration_url",
}  # fmt: skip
# Its configuration_url (config_validation.configuration_url): a URL of one of these schemes
# with a host (voluptuous' Url), which Home Assistant links as "Visit" on the device's page.
CONFIGURATION_URL_SCHEMES = {"http", "https", "homeassistant"}
DISCOVERY_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
NONE_PAYLOAD = "None"  # the MQTT sensor's payload for "unknown"
MAX_STATE = 255


def config_problems(component: str, config: dict[str, Any]) -> list[str]:
    found = []
    device_class = config.get("device_class")
    state_class = config.get("state_class")
    unit = config.get("unit_of_measurement")
    if not config.get("unique_id"):
        found.append("no unique_id: Home Assistant cannot keep the entity's settings")
    device = config.get("device") or {}
    if not (device.get("identifiers") or device.get("connections")):
        found.append("device without identifiers or connections")
    found += device_problems(device)
    if not (config.get("origin") or {}).get("name"):
        found.append("origin without a name")
    if component == "binary_sensor":
        if device_class not in BINARY_DEVICE_CLASSES:
            found.append(f"binary_sensor device class {device_class!r}")
        return found
    # The MQTT sensor's schema (mqtt/sensor.py: DEVICE_CLASSES_SCHEMA of sensor/const.py)
    # refuses the whole config for a device class HA does not know; one these rules do not
    # list has no units and state classes to check here (add them from sensor/const.py).
    if device_class is not None and device_class not in STATE_CLASSES:
        found.append(f"device class {device_class!r}: these rules do not list it")
    precision = config.get("suggested_display_precision")
    if precision is not None and (not isinstance(precision, int) or precision < 0):
        found.append(f"suggested_display_precision {precision!r} is no whole number >= 0")
    if device_class in STATE_CLASSES and state_class is not None:
        if state_class not in STATE_CLASSES[device_class]:
            found.append(f"state class {state_class!r} with device class {device_class!r}")
    if device_class in UNITS and unit not in UNITS[device_class]:
        found.append(f"unit {unit!r} with device class {device_class!r}")
    if state_class is not None and state_class not in ANY_STATE_CLASS:
        found.append(f"unknown state class {state_class!r}")
    if "options" in config:
        if not config["options"] or device_class != "enum" or state_class or unit:
            found.append("options need device class enum and no state class or unit")
    return found


def device_problems(device: dict[str, Any]) -> list[str]:
    """What Home Assistant refuses in a discovery config's `device` (then the whole config)."""
    found = [f"device key {key!r} is not in HA's schema" for key in sorted({*device} - DEVICE_KEYS)]
    # config_validation.string takes a number as its text, never a list, a mapping or null.
    texts = {*device} & DEVICE_KEYS - {"identifiers", "connections"}
    found += [f"device {key} {device[key]!r} is no text" for key in sorted(texts)
              if device[key] is None or isinstance(device[key], list | dict)]  # fmt: skip
    url = device.get("configuration_url")
    if isinstance(url, str):
        parts = urlparse(url)
        if parts.scheme not in CONFIGURATION_URL_SCHEMES or not parts.netloc:
            found.append(f"configuration_url {url!r} is no http(s) or homeassistant URL")
    return found


def state_problems(config: dict[str, Any], state: str) -> list[str]:
    """What is wrong with `state` for the sensor of `config` (a payload "None" is unknown)."""
    if state == NONE_PAYLOAD:
        return []
    device_class = config.get("device_class")
    if device_class == "timestamp":
        try:
            moment = datetime.fromisoformat(state)
        except ValueError:
            return [f"timestamp {state!r} is no ISO 8601 time"]
        return [] if moment.tzinfo else [f"timestamp {state!r} has no offset"]
    if device_class == "enum":
        return [] if state in config.get("options", ()) else [f"{state!r} is no option"]
    numeric = ("state_class", "unit_of_measurement", "suggested_display_precision")
    if device_class or any(config.get(name) is not None for name in numeric):
        return [] if _finite(state) else [f"numeric sensor with the state {state!r}"]
    return [] if len(state) <= MAX_STATE else [f"a state of {len(state)} characters"]


def _finite(state: str) -> bool:
    """Whether HA takes `state` as a number: its sensor (sensor/__init__.py) parses the state
    of a numeric sensor with int() or float(), and its long-term statistics
    (sensor/recorder.py, _parse_float) refuse nan and inf."""
    try:
        return math.isfinite(float(state))
    except ValueError:
        return False


def topic_problems(config_topic: str) -> list[str]:
    """`<prefix>/<component>/<node_id>/<object_id>/config`: the ids in [a-zA-Z0-9_-]."""
    parts = config_topic.split("/")
    ids = parts[-3:-1]
    return [f"discovery id {part!r}" for part in ids if not DISCOVERY_ID.match(part)]


def attribute_problems(attributes: dict[str, Any]) -> list[str]:
    found = [
        f"attribute {name!r} is dropped" for name in sorted(BLOCKED_ATTRIBUTES & {*attributes})
    ]
    size = len(json.dumps(attributes, separators=(",", ":")).encode())
    if size > MAX_ATTRIBUTES_BYTES:
        found.append(f"attributes of {size} bytes: the recorder stores none of them")
    return found
