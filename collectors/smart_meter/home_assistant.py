"""Home Assistant (local): whole-home and circuit power from sensors HA already has.

For meters flashed with ESPHome (an Emporia Vue with the `emporia_vue` component, Shelly EM,
IoTaWatt, ...) or any meter integrated in HA. Each configured entity is read with
`GET /api/states/<entity_id>` (header `Authorization: Bearer <long-lived token>`); W and kW
are stored as W, Wh/kWh/MWh as kWh, at HA's own time of the state (`last_reported`, else
`last_updated`: ha_states.py). `unavailable`/`unknown` states are skipped, never written.
After an outage (a window longer than BACKFILL_AFTER) the states HA recorded in the gap are
read back from its history (ha_history.py). Options: `base_url` (e.g.
http://homeassistant.local:8123), `total_entity` (whole-home power), `circuits`
({"circuit name": "sensor.x_power"}), `daily_energy_entity` (today's energy ->
`daily_kwh`, served for HA's day: its `time_zone`, `GET /api/config`), `device` (the `device`
tag, default "home"); the token is the provider config's
API key. The target is the site's own HA (two homes may both reach theirs at
homeassistant.local). No budget: it is your own HA on your network.
"""

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from collectors.answers import HTTP, Answer
from collectors.base import (
    Adapter,
    ConfigError,
    Credentials,
    FetchResult,
    SiteInfo,
    Target,
    Window,
    tag_option,
)
from collectors.smart_meter import common, ha_history, ha_states
from collectors.smart_meter.ha_states import ENERGY_UNITS, POWER_UNITS
from collectors.smart_meter.today import DayTotalsAtRead, zoned
from enrich.readings import Reading
from enrich.url_problems import login_problem, url_problem
from enrich.wording import counted

logger = logging.getLogger(__name__)

PROVIDER = "home_assistant"
HTTP_PREFIXES = tuple(f"{scheme}://" for scheme in HTTP)
BACKFILL_AFTER = timedelta(minutes=15)  # a longer window is an outage: read HA's history


def _home_assistant(options: Mapping[str, Any]) -> str:
    """options.base_url, your Home Assistant's http(s) address with a host and a usable port,
    checked (enrich.url_problems, as every provider's base_url)."""
    base = str(options.get("base_url") or "")
    example = '{"base_url": "http://homeassistant.local:8123"}'
    if not base.startswith(HTTP_PREFIXES):
        raise ConfigError(
            f"Home Assistant meter: set options.base_url to your Home Assistant's address, "
            f"e.g. {example}."
        )
    if said := login_problem(base, "options.base_url"):
        raise ConfigError(f"Home Assistant meter: {said}.")
    if problem := url_problem(base, HTTP):
        raise ConfigError(
            f"Home Assistant meter: options.base_url {base!r} is not usable: {problem}. Give "
            f"your Home Assistant's address, e.g. {example}."
        )
    return base.rstrip("/")


def device_tag(options: Mapping[str, Any]) -> str:
    """The `device` tag (options.device, default "home"), once the sensors are checked: the
    entity ids of options.total_entity, daily_energy_entity and circuits, whose circuit names
    are tags too."""
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
    for circuit in circuits:
        tag_option("Home Assistant meter: the circuit name", circuit)
    return tag_option("Home Assistant meter: options.device", str(options.get("device") or "home"))


def circuits_read(options: Mapping[str, Any]) -> tuple[str, set[str]]:
    """(device tag, the circuit names options.circuits sets the meter to read); ConfigError
    when the options are not the meter's to collect."""
    return device_tag(options), set(options.get("circuits") or {})


class HomeAssistantMeterAdapter(common.WatchedMeter, DayTotalsAtRead, Adapter):
    source = "smart_meter"
    provider = PROVIDER
    budget = None
    options = common.METER_OPTIONS | {
        "base_url", "total_entity", "circuits", "daily_energy_entity", "device"
    }  # fmt: skip
    option_parsers = (_home_assistant, device_tag, common.watch_options)
    budget_scope = "target"
    # HA's recorder keeps 10 days by default, but a day of a sensor that reports every few
    # seconds is already tens of thousands of states in one answer: our bound.
    history = timedelta(days=1)
    calls_per_fetch = 1

    def target(self, site: SiteInfo, credentials: Credentials) -> Target:
        base = _home_assistant(credentials.options)
        if not credentials.api_key:
            raise ConfigError(
                "Home Assistant meter: put a long-lived access token (HA: your profile > "
                "Security > Long-lived access tokens) in the provider config's API key."
            )
        device = device_tag(credentials.options)
        params = {**common.watch_params(site, credentials), "device": device}
        return Target(self.source, PROVIDER, f"{site.name}|{base}|{device}", params)

    def fetch(self, target: Target, credentials: Credentials, window: Window) -> FetchResult:
        options = credentials.options
        base = _home_assistant(options)
        tag_set = common.tags(target, target.params["device"])
        readings: list[Reading] = []
        total_w = None
        if options.get("total_entity"):
            state = _state(base, credentials, options["total_entity"], POWER_UNITS)
            if state is not None:
                total_w, when = state
                readings.append(common.home_reading(tag_set, when, total_w))
        held: list[dict[str, str]] = []  # common.CIRCUIT_STATES
        for circuit, entity in (options.get("circuits") or {}).items():
            state = _state(base, credentials, entity, POWER_UNITS)
            if state is not None:
                power, when = state
                # A state HA recorded before this run's window was stored by an earlier run,
                # with the share of its moment: the whole home now is not the home then.
                share = common.share(power, total_w) if when >= window.start else None
                readings.append(common.circuit_reading(tag_set, circuit, when, power, share))
                device = target.params["device"]
                held.append({"device": device, "circuit": circuit, "time": when.isoformat()})
        if options.get("daily_energy_entity"):
            state = _state(base, credentials, options["daily_energy_entity"], ENERGY_UNITS)
            if state is not None:
                kwh, when = state
                readings.append(_daily(tag_set, kwh, when))
        current = common.current(readings, window.now, **{common.CIRCUIT_STATES: held})
        if options.get("daily_energy_entity"):  # its day is HA's (today.py)
            current = zoned(current, ha_states.zone(base, credentials))
        if window.start < window.now - BACKFILL_AFTER:
            live = {_point(r) for r in readings}  # the newest recorded state is also live
            past = _backfill(base, credentials, tag_set, window)
            readings = [r for r in past if _point(r) not in live] + readings
        return FetchResult(readings, current)


def _point(reading: Reading) -> tuple:
    return (reading.measurement, reading.time, tuple(sorted(reading.tags.items())))


def _daily(tag_set: dict[str, str], kwh: float, when: datetime) -> Reading:
    return Reading(common.MEASUREMENT, {"daily_kwh": kwh}, when, tag_set)


def _backfill(
    base: str, credentials: Credentials, tag_set: dict[str, str], window: Window
) -> list[Reading]:
    """The states HA recorded in the gap (circuits without a share: the whole home's state
    at that moment is another entity's, recorded at other times)."""
    options = credentials.options
    # entity -> (its unit table, where its values go): one entity may be the whole home and a
    # circuit, or two circuits' names ("" = the whole home, None = today's energy)
    uses: dict[str, tuple[dict[str, tuple[int, int]], list[str | None]]] = {}
    if options.get("total_entity"):
        uses.setdefault(options["total_entity"], (POWER_UNITS, []))[1].append("")
    for circuit, entity in (options.get("circuits") or {}).items():
        uses.setdefault(entity, (POWER_UNITS, []))[1].append(circuit)
    if options.get("daily_energy_entity"):
        uses.setdefault(options["daily_energy_entity"], (ENERGY_UNITS, []))[1].append(None)
    units = {entity: use[0] for entity, use in uses.items()}
    history = ha_history.recorded(base, credentials, units, window.start, window.now)
    readings: list[Reading] = []
    for entity, values in history.items():
        for circuit in uses[entity][1]:
            for number, when in values:
                if circuit is None:
                    readings.append(_daily(tag_set, number, when))
                elif circuit:
                    readings.append(common.circuit_reading(tag_set, circuit, when, number))
                else:
                    readings.append(common.home_reading(tag_set, when, number))
    logger.info(
        "home_assistant: after an outage, read %s since %s from HA's history",
        counted(sum(len(values) for values in history.values()), "recorded state"),
        window.start.isoformat(),
    )
    return readings


def _state(
    base: str, credentials: Credentials, entity: str, units: dict[str, tuple[int, int]]
) -> tuple[float, datetime] | None:
    """(value in the base unit, HA's time) of one entity; None when it has no value now."""
    url = f"{base}/api/states/{quote(entity, safe='.')}"
    body = ha_states.get(url, credentials, entity=entity)
    answer = Answer(PROVIDER, url)
    raw = answer.get(body, "state", "the state")
    if raw in ha_states.SKIPPED_STATES:
        logger.info("home_assistant: %s is %s; nothing written for it", entity, raw)
        return None
    unit = ha_states.declared_unit(answer, entity, body)
    ha_states.check_unit(entity, unit, units)
    return ha_states.value(answer, entity, body, str(unit), units)
