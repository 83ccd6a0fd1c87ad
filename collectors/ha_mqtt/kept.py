"""The config Home Assistant has for an entity whose config cannot be made now.

The price's unit is its currency, known from its stored prices or from the last answer in
Redis; with neither (no prices stored around now, the answer gone) its config cannot be made
(EntityState.keep_config). The broker keeps the config Home Assistant has, retained: it is
read back and published again with the unit it holds and all else as of now (the device's
name after the site was renamed). None retained: Home Assistant has no such entity, nothing of
it is published. Not readable (the broker's ACL, a broker too slow): whether Home Assistant
has one is unknown, so it is published unavailable without a config, and no old value of it
passes for a current one.
"""

import json
from typing import Any

from enrich.mqtt.broker import Endpoint
from enrich.mqtt.retained import retained_messages

# How long a publication waits for one retained config (the broker answered already).
READ_SECONDS = 5.0


def retained_config(endpoint: Endpoint, config_topic: str) -> dict[str, Any] | None:
    """The discovery config retained at `config_topic`: None when there is none, {} when it is
    no JSON object. Raises RetainedReadError when it cannot be read."""
    raw = retained_messages(endpoint, config_topic, timeout=READ_SECONDS).get(config_topic)
    if raw is None:
        return None
    try:
        found = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def kept_unit(config: dict[str, Any]) -> str | None:
    unit = config.get("unit_of_measurement")
    return unit if isinstance(unit, str) and unit else None
