"""Home Assistant (local): whole-home and circuit power from sensors HA already has.

For meters flashed with ESPHome (an Emporia Vue with the `emporia_vue` component, Shelly EM,
IoTaWatt, ...) or any meter integrated in HA. Each configured entity is read with
`GET /api/states/<entity_id>` (header `Authorization: Bearer <long-lived token>`); W and kW
are stored as W, the state's `last_updated` (HA's own time, kept exactly) is the reading's time.
`unavailable`/`unknown` states are skipped, never written. Options: `base_url` (e.g.
http://homeassistant.local:8123), `total_entity` (whole-home power), `circuits`
({"circuit name": "sensor.x_power"}), `daily_energy_entity` (today's energy, kWh or Wh ->
`daily_kwh`), `device` (the `device` tag, default "home"); the token is the provider config's
API key. No budget: it is your own HA on your network.
"""

import logging
import math
from datetime import datetime
from typing import Any
from urllib.parse import quote

from collectors.base import Adapter, ConfigError, Credentials, FetchResult, SiteInfo, Target, Window
from collectors.carbon.common import Answer
from collectors.smart_meter import common
from enrich.http import AuthError, PermanentError, get_json
from enrich.readings import Reading

logger = logging.getLogger(__name__)

PROVIDER = "home_assistant"
# unit -> (multiply, divide) into W or kWh (dividing keeps 12450 Wh exactly 12.45 kWh)
POWER_UNITS = {"W": (1, 1), "kW": (1000, 1)}
ENERGY_UNITS = {"kWh": (1, 1), "Wh": (1, 1000)}
SKIPPED_STATES = ("unavailable", "unknown")


class HomeAssistantMeterAdapter(Adapter):
    source = "smart_meter"
    provider = PROVIDER
    budget = None
    budget_scope = "target"
    history = None  # HA's history API is not read: a gap while enrich was down stays a gap
    calls_per_fetch = 1

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        options = credentials.options
        base = str(options.get("base_url") or "").rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError(
                "Home Assistant meter: set options.base_url to your Home Assistant's address, "
                'e.g. {"base_url": "http://homeassistant.local:8123"}.'
            )
        if not credentials.api_key:
            raise ConfigError(
                "Home Assistant meter: put a long-lived access token (HA: your profile > "
                "Security > Long-lived access tokens) in the provider config's API key."
            )
        total, circuits = options.get("total_entity"), options.get("circuits") or {}
        if not isinstance(circuits, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) and v for k, v in circuits.items()
        ):
            raise ConfigError(
                "Home Assistant meter: options.circuits must map circuit names to entity ids, "
                'e.g. {"Heat pump": "sensor.heat_pump_power"}.'
            )
        if not total and not circuits:
            raise ConfigError(
                "Home Assistant meter: set options.total_entity (the whole-home power sensor) "
                "and/or options.circuits."
            )
        entities = [e for e in (total, options.get("daily_energy_entity")) if e]
        for entity in [*entities, *circuits.values()]:
            if not isinstance(entity, str) or "." not in entity:
                raise ConfigError(f"Home Assistant meter: {entity!r} is not an entity id.")
        device = str(options.get("device") or "home")
        params = {**common.watch_params(site, credentials), "device": device}
        return Target(self.source, PROVIDER, f"{base}|{device}", params)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        options = credentials.options
        base = common.base_url(credentials, "")
        tag_set = common.tags(PROVIDER, target.params["device"], PROVIDER)
        readings: list[Reading] = []
        total_w = None
        if options.get("total_entity"):
            state = _state(base, credentials, options["total_entity"], POWER_UNITS)
            if state is not None:
                total_w, when = state
                readings.append(common.home_reading(tag_set, when, total_w))
        for circuit, entity in (options.get("circuits") or {}).items():
            state = _state(base, credentials, entity, POWER_UNITS)
            if state is not None:
                power, when = state
                share = common.share(power, total_w)
                readings.append(common.circuit_reading(tag_set, circuit, when, power, share))
        if options.get("daily_energy_entity"):
            state = _state(base, credentials, options["daily_energy_entity"], ENERGY_UNITS)
            if state is not None:
                kwh, when = state
                readings.append(Reading(common.MEASUREMENT, {"daily_kwh": kwh}, when, tag_set))
        return FetchResult(readings, common.current(readings, window.now))


def _state(
    base: str, credentials: Credentials, entity: str, units: dict[str, tuple[int, int]]
) -> tuple[float, datetime] | None:
    """(value in the base unit, last_updated) of one entity; None when it has no value now."""
    url = f"{base}/api/states/{quote(entity, safe='.')}"
    headers = {"Authorization": f"Bearer {credentials.api_key}"}
    try:
        body = get_json(PROVIDER, url, headers=headers)
    except AuthError as error:
        raise AuthError(
            f"home_assistant: {error.endpoint} refused the token (HTTP {error.status}). Put a "
            "valid long-lived access token (HA profile > Security) in the provider's API key.",
            provider=PROVIDER,
            endpoint=error.endpoint,
            status=error.status,
        ) from None
    except PermanentError as error:
        if error.status != 404:
            raise
        raise PermanentError(
            f"home_assistant: Home Assistant has no entity {entity!r} (HTTP 404). Check the "
            "entity ids in options (Developer tools > States lists them).",
            provider=PROVIDER,
            endpoint=error.endpoint,
            status=404,
        ) from None
    answer = Answer(PROVIDER, url)
    raw = answer.get(body, "state", "the state")
    if raw in SKIPPED_STATES:
        logger.info("home_assistant: %s is %s; nothing written for it", entity, raw)
        return None
    attributes: Any = body.get("attributes") or {}
    unit = attributes.get("unit_of_measurement") if isinstance(attributes, dict) else None
    if unit not in units:
        raise ConfigError(
            f"Home Assistant meter: {entity} is in {unit!r}, expected one of "
            f"{', '.join(units)}; pick the sensor that measures "
            f"{'power' if 'W' in units else 'energy'}."
        )
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise answer.bad(f"the state of {entity} is {raw!r}, not a number", body) from None
    if not math.isfinite(value):
        raise answer.bad(f"the state of {entity} is {raw!r}, not a finite number", body)
    key = "last_updated" if "last_updated" in body else "last_changed"
    multiply, divide = units[unit]
    return value * multiply / divide, answer.when(body, key, "the state")
