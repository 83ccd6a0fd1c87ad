"""Which entities a site's Home Assistant device has, and their current states.

A source's entities exist while the site has an enabled provider for it. Values are the ones
enrich already serves: the cached / last good answers of GET /api/enrichment/current
(`collectors.api.provider_value`), the prices computed at read time from the stored slots
(`collectors.ha_mqtt.pricing`), the smart meter values stored in InfluxDB
(`collectors.ha_mqtt.meters`) and the retention statistics (`collectors.ha_mqtt.storage`).
Every state carries `stale` and the time of its data in its attributes, nothing that changes
only because time passes: a publication with no new data repeats every state and attributes
payload byte for byte, so Home Assistant records nothing. Nothing is hidden because it is old,
and nothing is shown that enrich does not have: a meter's circuit its newest answer has no
value for is unavailable, its last value being no current one.
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache, partial
from typing import Any

from collectors import circuit_keys
from collectors.answers import digits
from collectors.api import provider_value, stale_at
from collectors.circuit_keys import MQTT_SCOPE, Keys, owner
from collectors.ha_mqtt import meters, renames
from collectors.ha_mqtt.discovery import UNKNOWN, EntitySpec, EntityState, slug, suffixed
from collectors.ha_mqtt.held import HeldStarts, held_key
from collectors.ha_mqtt.pricing import NoPrices, price_outlook
from enrich.influx import TimeseriesError
from enrich.models import ProviderConfig, Site, zone_or_utc
from enrich.redis.cache import ResponseCache

GCO2_KWH = "gCO2/kWh"
MEASUREMENT = "measurement"
# EPA AQI categories 1..6 (collectors.air_quality): the state is chosen by category_number,
# so it is always one of these options.
AQI_CATEGORIES = (
    "Good",
    "Moderate",
    "Unhealthy for Sensitive Groups",
    "Unhealthy",
    "Very Unhealthy",
    "Hazardous",
)


def _carbon(key: str, name: str) -> EntitySpec:
    # HA has no device class for grid carbon intensity (carbon_dioxide is a ppm concentration).
    # Whole grams: the decimals of a modelled intensity are noise on a dashboard.
    return EntitySpec(
        key, name, state_class=MEASUREMENT, unit=GCO2_KWH, icon="mdi:molecule-co2", precision=0
    )


def _power(key: str, name: str) -> EntitySpec:
    return EntitySpec(key, name, device_class="power", state_class=MEASUREMENT, unit="W")


def _timestamp(key: str, name: str) -> EntitySpec:
    return EntitySpec(key, name, device_class="timestamp")


CARBON_FIELDS = {
    "carbon_intensity_gco2_kwh": _carbon("carbon_intensity", "Carbon intensity"),
    "forecast_1h": _carbon("carbon_intensity_forecast_1h", "Carbon intensity in 1 h"),
    "forecast_24h": _carbon("carbon_intensity_forecast_24h", "Carbon intensity in 24 h"),
}
MOER = EntitySpec(
    "carbon_moer_percentile", "Carbon MOER percentile", state_class=MEASUREMENT, unit="%"
)
PEAK = EntitySpec("peak_period", "Peak period", component="binary_sensor", icon="mdi:cash-clock")
WINDOW_START = _timestamp("cheapest_window_start", "Cheapest window start")
WINDOW_END = _timestamp("cheapest_window_end", "Cheapest window end")
AQI = EntitySpec(  # the AQI is a whole number; the state keeps the provider's figure
    "aqi", "Air quality index", device_class="aqi", state_class=MEASUREMENT, precision=0
)
AQI_CATEGORY = EntitySpec(
    "aqi_category", "Air quality category", device_class="enum", options=AQI_CATEGORIES
)
OCCUPIED = EntitySpec(
    "occupancy_prediction", "Home occupied", component="binary_sensor", device_class="occupancy"
)
PREPARE_TIME = _timestamp("prepare_time", "Prepare time")
NEXT_ARRIVAL = _timestamp("next_arrival_time", "Next arrival")
HOME_POWER = _power("power", "Power")


def price_spec(currency: str) -> EntitySpec:
    # Not device_class "monetary": HA means an amount of money by it (state class `total`
    # only), while this is a price per kWh; `measurement` keeps its long-term statistics.
    return EntitySpec(
        "electricity_price",
        "Electricity price",
        state_class=MEASUREMENT,
        unit=f"{currency}/kWh",
        icon="mdi:cash",
    )


def number(value: Any) -> str | None:
    """The state of a numeric entity. Home Assistant's frontend shows every decimal of the
    state string, so the binary noise of a unit conversion (130.4 EUR/MWh / 1000 =
    0.13040000000000002) is dropped: 15 significant digits give back any decimal the provider
    wrote, and no more."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return repr(digits(float(value)))


def freshness(entry: Mapping[str, Any]) -> dict[str, Any]:
    """What every entity of a source says about where its value comes from and how old it is.
    Not its age in seconds: that changes at every publication, and Home Assistant records every
    attribute change (a state_changed event: a recorder row, an InfluxDB point) even when the
    value is the same. `fetched_at` and `data_time` give the age; `stale` says when it is too old."""
    found = {name: entry.get(name) for name in ("provider", "fetched_at", "stale") if name in entry}
    if entry.get("time"):
        found["data_time"] = entry["time"]
    if entry.get("value") is None:
        found["reason"] = entry.get("message", "no answer yet")
    return found


def source_entry(configs: list[ProviderConfig], cache: ResponseCache) -> dict[str, Any]:
    """The first enabled provider's answer that has a value (as the REST endpoint gives it)."""
    entries = [provider_value(config, cache) for config in configs]
    return next((e for e in entries if e.get("value") is not None), entries[0])


def carbon_states(entry: Mapping[str, Any]) -> list[EntityState]:
    value, about = entry.get("value") or {}, freshness(entry)
    extra = {k: v for k, v in value.items() if k not in CARBON_FIELDS and k != "time"}
    states = []
    for field, spec in CARBON_FIELDS.items():
        state = number(value.get(field))
        missing = {"reason": f"the answer has no {field}"} if value and state is None else {}
        states.append(EntityState(spec, state, {**about, **extra, **missing}))
    if "moer_percentile" in value:  # WattTime's free plan: a relative index, not gCO2/kWh
        # Between fetches the gCO2/kWh is a later forecast slot's; the index keeps its own time.
        own = (
            {"data_time": value["moer_percentile_time"]} if "moer_percentile_time" in value else {}
        )
        states.append(
            EntityState(MOER, number(value["moer_percentile"]), {**about, **extra, **own})
        )
    return states


def air_quality_states(entry: Mapping[str, Any]) -> list[EntityState]:
    value, about = entry.get("value") or {}, freshness(entry)
    number_of = value.get("category_number")
    category = AQI_CATEGORIES[number_of - 1] if number_of in range(1, 7) else None
    extra = {k: value[k] for k in ("location", "pm25", "pm10", "ozone", "category") if k in value}
    if number_of is not None:
        extra["category_number"] = number_of
    return [
        EntityState(AQI, number(value.get("aqi")), {**about, **extra}),
        EntityState(AQI_CATEGORY, category, {**about, **extra}),
    ]


def occupancy_states(entry: Mapping[str, Any]) -> list[EntityState]:
    value, about = entry.get("value"), freshness(entry)
    if not value:
        return [EntityState(s, None, about) for s in (OCCUPIED, PREPARE_TIME, NEXT_ARRIVAL)]
    extra = {k: value[k] for k in ("confidence", "wfh_today", "rule", "people") if k in value}
    home = value.get("currently_home")
    occupied = None if home is None else ("ON" if home else "OFF")
    # No away event ahead: the time is known to be absent ("unknown" in HA), not unavailable.
    return [
        EntityState(OCCUPIED, occupied, {**about, **extra}),
        EntityState(PREPARE_TIME, value.get("prepare_time") or UNKNOWN, about),
        EntityState(NEXT_ARRIVAL, value.get("next_arrival_time") or UNKNOWN, about),
    ]


def pricing_states(
    site: Site,
    entry: Mapping[str, Any],
    hours: float,
    now: datetime,
    held: HeldStarts | None = None,
) -> list[EntityState]:
    about = freshness(entry)
    key = held_key(site.pk, WINDOW_START.key)
    try:
        since = None if held is None else held.earlier(key, now)
        outlook = price_outlook(site, hours, now, since)
    except NoPrices as exc:
        reason = {**about, "reason": str(exc)}
        currency = (entry.get("value") or {}).get("currency")
        unavailable = [EntityState(s, None, reason) for s in (PEAK, WINDOW_START, WINDOW_END)]
        # No currency (no prices read, no answer cached): the unit is unknown, so the entity
        # Home Assistant has keeps its config, unavailable like the others; none is made.
        price = EntityState(price_spec(currency or ""), None, reason, keep_config=not currency)
        return [*unavailable, price]
    # The figures come from the stored slots, not from the cached answer's headline.
    about.pop("reason", None)
    about |= {"provider": outlook.provider, "region": outlook.region}
    slot = {}
    if outlook.slot_start is not None:
        slot = {
            "slot_start": outlook.slot_start.isoformat(),
            "slot_end": outlook.slot_end.isoformat(),
        }
    peak = None if outlook.peak is None else ("ON" if outlook.peak else "OFF")
    price = {**about, **slot, **outlook.basis}
    if outlook.price_problem:
        price["reason"] = outlook.price_problem
    states = [
        EntityState(price_spec(outlook.currency), number(outlook.price_now), price),
        EntityState(
            PEAK,
            peak,
            {**about, **slot, **({"reason": outlook.peak_problem} if outlook.peak_problem else {})},
        ),
    ]
    # where the stored prices end: earlier than 24 h from now, the rest was never compared
    about |= {**outlook.basis, "known_until": outlook.known_until.isoformat()}
    window = outlook.window
    if window is None:
        reason = {**about, "hours": hours, "reason": outlook.window_problem}
        return states + [
            EntityState(WINDOW_START, None, reason),
            EntityState(WINDOW_END, None, reason),
        ]
    # No saving against running now: running from now moves with the clock through the running
    # slot, so it would change at every publication (GET /api/pricing/windows gives it). While
    # running now is the cheapest, the start published last time is held (price_outlook).
    if held is not None:
        held.publish(key, window.start.isoformat())
    details = {
        **about,
        "hours": hours,
        "average_price": digits(window.average_price),
        "unit": f"{outlook.currency}/kWh",
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
    }
    return states + [
        EntityState(WINDOW_START, window.start.isoformat(), details),
        EntityState(WINDOW_END, window.end.isoformat(), details),
    ]


def home_power(entry: Mapping[str, Any]) -> EntityState:
    """The whole-home power of the meter's cached answer (an answer without it, e.g. Home
    Assistant's whole-home sensor unavailable at that poll, says so)."""
    value, about = entry.get("value") or {}, freshness(entry)
    state = number(value.get("total_power_w"))
    missing = {"reason": "the answer has no total_power_w"} if value and state is None else {}
    return EntityState(HOME_POWER, state, about | missing)


def smart_meter_states(
    site: Site,
    entry: Mapping[str, Any],
    stale_after: float,
    now: datetime,
    configs: Sequence[ProviderConfig],
    answers: ResponseCache,
) -> list[EntityState]:
    value = entry.get("value") or {}
    states = [home_power(entry)]
    if not value.get("time"):
        return states
    # Its circuits are read with its answer: stale as that answer is at `now` (collectors.api:
    # once the run due, by the account's cadence, brought nothing newer).
    meter = next(c for c in configs if c.provider == entry["provider"])
    circuits_stale = stale_at(meter, entry["target"], answers, now)
    newest = datetime.fromisoformat(value["time"])
    # The series of this meter: those of the site whose config collected it (an account
    # several sites name is collected under the first one's; an answer cached before the
    # answer said so is this site's own), of the devices with values in the last hour of its
    # data (by gid where they have one): not only those of the newest answer, which lacks a
    # device whose whole-home value was missing at that poll.
    collected_by = value.get("site") or site.name
    held = meters.held(value)  # Home Assistant's circuits: read from their state's time on
    devices = meters.recent_devices(entry["provider"], collected_by, newest, held)
    # InfluxDB down raises TimeseriesError: the publisher then keeps the circuits and phantom
    # loads it cannot see (unavailable) rather than removing them.
    phantoms = meters.phantom_loads(entry["provider"], collected_by, devices, newest)
    circuits = meters.circuit_powers(entry["provider"], collected_by, devices, newest, held)
    # A Home Assistant circuit taken out of (or renamed in) options.circuits is no longer the
    # meter's, though its last value is less than an hour old: the publisher keeps it,
    # unavailable, for a day, and `manage.py mqtt_remove_entities` removes it at once.
    read = meters.configured_circuits([c for c in configs if c.provider == entry["provider"]])
    circuits = [c for c in circuits if c.device not in read or c.circuit in read[c.device]]
    # An Emporia channel or Sense device renamed in its app: its newest name, in its entity.
    circuits, before = renames.newest_names(entry["provider"], circuits)
    phantoms, was = renames.newest_names(entry["provider"], phantoms)  # a renamed Vue: newest
    # Keys kept for good: a device or circuit whose name reads alike as a key keeps the key it
    # was given, also when another one comes first in name order or it has no value for a while.
    keys = Keys(circuit_keys.load(site.pk, MQTT_SCOPE).get(MQTT_SCOPE))
    shared = _shared_names(phantoms + circuits)
    named = cache(partial(meters.device_names, entry["provider"], collected_by))  # renames
    for found in phantoms:
        plain = f"phantom_load_{slug(found.device)}"
        key = _key(keys, found, plain, found.device, renames.renamed_from(keys, found, was, named))
        spec = _power(key, f"Phantom load {_device_name(found, shared)}")
        stale = meters.phantom_stale(found, now, stale_after, zone_or_utc(site.timezone))
        states.append(EntityState(spec, number(found.watts), _stored(found, stale)))
    for found in circuits:
        plain = f"circuit_{slug(found.device)}_{slug(found.circuit)}"
        renamed = renames.renamed_from(keys, found, before, named)
        key = _key(keys, found, plain, f"{found.device}\0{found.circuit}", renamed)
        name = f"{found.circuit} power"
        if found.device in shared:
            name += f" ({_device_name(found, shared)})"
        spec = _power(f"{key}_power", name)
        # A held state is as fresh as the answer that read it (HA's state holds until it
        # changes); data_time stays the time HA gave it.
        fresh = max(found.time, newest) if (found.device, found.circuit) in held else found.time
        about = _stored(found, circuits_stale)
        if fresh < newest:  # not in the newest answer: its last value is no current one
            last = found.time.isoformat()
            reason = f"the meter's newest answer has no value for it (its last: {last})"
            states.append(EntityState(spec, None, about | {"reason": reason}))
            continue
        states.append(EntityState(spec, number(found.watts), about))
    circuit_keys.save(site.pk, {MQTT_SCOPE: keys.given}, {MQTT_SCOPE: keys.handed})
    return states


def _shared_names(found: list[meters.MeterValue]) -> set[str]:
    """Device names two physical devices (gids) of the answer share."""
    gids: dict[str, set[str]] = {}
    for value in found:
        gids.setdefault(value.device, set()).add(value.gid)
    return {device for device, seen in gids.items() if len(seen) > 1}


def _device_name(found: meters.MeterValue, shared: set[str]) -> str:
    """How an entity's name says its device: with the gid where another device has its name."""
    return f"{found.device} {found.gid}" if found.device in shared else found.device


def _key(
    keys: Keys, found: meters.MeterValue, plain: str, name: str, renamed: str | None = None
) -> str:
    """The key of a device's phantom load or of a circuit. Its owner is its device and circuit
    names; with Emporia's gid too, so two devices of one name are two owners: the first one
    seen with its gid takes over the key its names held (before the gid was read, one entity
    showed both devices), the other gets its own suffixed key. A circuit `renamed` from the
    owner of a key takes that key over (collectors.ha_mqtt.renames)."""
    names = (found.device, found.circuit) if found.circuit else (found.device,)
    if not found.gid:
        return keys.key(owner(*names), plain, suffixed(plain, name), was=renamed)
    gid_owner = owner(found.device, found.circuit, found.gid)
    other = suffixed(plain, f"{name}\0{found.gid}")
    return keys.key(gid_owner, plain, other, was=renamed or owner(*names))


def _stored(found: meters.MeterValue, stale: bool) -> dict[str, Any]:
    # No age in seconds (see freshness): `stale` turns true at its moment, data_time stays.
    about = {"device": found.device, "data_time": found.time.isoformat()}
    if found.gid:
        about["device_gid"] = found.gid
    if found.circuit:
        about["circuit"] = found.circuit
    return about | {"stale": stale}


def site_states(
    site: Site,
    cache: ResponseCache,
    now: datetime,
    *,
    window_hours: float,
    meter_stale_after: float,
    diagnostics: list[EntityState],
    held: HeldStarts | None = None,
) -> tuple[list[EntityState], TimeseriesError | None]:
    """Every entity of one site, in a stable order, and why the meter's circuits and phantom
    loads could not be read (None when they could): then they are not among the states, whose
    others (the whole-home power too) are as usual."""
    configs = list(ProviderConfig.objects.filter(site=site, enabled=True).order_by("id"))
    by_source: dict[str, list[ProviderConfig]] = {}
    for config in configs:
        by_source.setdefault(config.source, []).append(config)
    builders: dict[str, Callable[[dict[str, Any]], list[EntityState]]] = {
        "carbon_intensity": carbon_states,
        "electricity_pricing": lambda e: pricing_states(site, e, window_hours, now, held),
        "air_quality": air_quality_states,
        "occupancy": occupancy_states,
        "smart_meter": lambda e: smart_meter_states(
            site, e, meter_stale_after, now, by_source["smart_meter"], cache
        ),
    }
    states: list[EntityState] = []
    unread = None
    for source, build in builders.items():
        if source not in by_source:
            continue
        entry = source_entry(by_source[source], cache)
        try:
            states += build(entry)
        except TimeseriesError as exc:  # the meter's series (the other sources say why)
            states.append(home_power(entry))
            unread = exc
    return states + diagnostics, unread
