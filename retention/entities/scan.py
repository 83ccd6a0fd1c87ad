"""What Home Assistant wrote to InfluxDB, one `Found` per entity, in either layout.

`scan()` reads per entity its first point, its newest point and (HA Ingestor layout) its
newest point with a real state, and describes the entity:

- entity id: always the full `domain.object_id` (the official layout tags only the object id);
- kind: domain binary_sensor/input_boolean/switch/light -> binary; weather -> weather;
  unit W/kW (or device class power) -> power; unit kWh/Wh (or device class energy) -> energy
  (the state class is not in the official layout's data: a kWh entity is taken for a meter);
  a numeric state -> numeric; only string states -> text;
- unit: the `unit_of_measurement` attribute, else (official layout) the measurement when it
  is a unit and not an entity id or `domain__device_class`;
- device class: official layout the `device_class_str` attribute field, or the measurement
  name when it is `domain__device_class` (HA then leaves the attribute out); ingestor layout
  the `device_class` tag (else the attribute); "" when the entity has none;
- friendly name, area (ingestor `area` tag), measurement, first_seen/last_seen;
- series: every measurement the entity has points in, oldest first, with the unit Home
  Assistant wrote there last (`Entity.series`). Its integration writes each unit to its own
  measurement by default: a sensor switched from W to kW has points in `W` and `kW`, and is
  one entity, described by the measurement written most recently. A weather entity's series
  also holds the units of its attributes in the newest point there ("units":
  {"temperature_unit": "°C", ...}, those of `units.WEATHER_UNITS` it has).

`detect_layout()` tells the layouts apart: the measurement `home_assistant_events` means the
HA Ingestor layout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from enrich.influx import Row, get_timeseries, quote_ident
from retention.day_ranges import EARLIEST_TIME
from retention.entities.points import INGESTOR_MEASUREMENT, as_number, ingestor_raw_attributes
from retention.entities.units import WEATHER_UNITS, official_units
from retention.models import Entity
from retention.schema import TIER_MEASUREMENT

BINARY_DOMAINS = frozenset({"binary_sensor", "input_boolean", "switch", "light"})
POWER_UNITS = frozenset({"W", "kW"})
ENERGY_UNITS = frozenset({"kWh", "Wh"})
# Measurements of ours that can live in Home Assistant's database (the tiers).
OWN_MEASUREMENTS = frozenset({TIER_MEASUREMENT})
_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[A-Za-z0-9_]+$")
_REAL_STATE = "!~ /^(unknown|unavailable)?$/"  # a field with a state that is not a gap
# First seen is the first point since 2000: an earlier one is a clock not yet set (a Raspberry
# Pi before NTP), and the tiers and views would start from it and walk every day since 1970.
SINCE = f"WHERE time >= '{EARLIEST_TIME:%Y-%m-%dT%H:%M:%SZ}'"


# --- What one scan finds --------------------------------------------------------------------
@dataclass
class Found:
    """One entity as seen in InfluxDB."""

    entity_id: str
    kind: str
    unit: str
    measurement: str
    layout: str
    friendly_name: str = ""
    area: str = ""
    device_class: str = ""
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    # Every measurement with the entity's points and its unit, oldest first.
    series: list[dict[str, Any]] = field(default_factory=list)
    # Not registry fields: the first point in `measurement` when the entity has points in
    # older ones too (Home Assistant's unit changed: first_seen is the earliest of all); a
    # weather entity's attribute units in the newest point (they go to `series`).
    series_start: datetime | None = None
    attribute_units: dict[str, str] = field(default_factory=dict)


def kind_for(domain: str, unit: str, device_class: str, numeric: bool) -> str:
    """The registry kind of an entity, from its domain, unit, device class and states."""
    if domain in BINARY_DOMAINS:
        return Entity.Kind.BINARY
    if domain == "weather":
        return Entity.Kind.WEATHER
    if unit in POWER_UNITS or (not unit and device_class == "power"):
        return Entity.Kind.POWER
    if unit in ENERGY_UNITS or (not unit and device_class == "energy"):
        return Entity.Kind.ENERGY
    return Entity.Kind.NUMERIC if numeric else Entity.Kind.TEXT


def _found(entity_id: str, domain: str, unit: str, device_class: str, numeric: bool,
           seen: tuple[Row, Row], **where: str) -> Found:  # fmt: skip
    """The entity as found: its kind (`kind_for`), first and last seen from the scan's
    (first, last) rows; `where`: measurement, layout, friendly name, area."""
    first, last = seen
    kind = kind_for(domain, unit, device_class, numeric)
    return Found(entity_id=entity_id, kind=kind, unit=unit, device_class=device_class,
                 first_seen=first.time, last_seen=last.time, **where)  # fmt: skip


def _weather_units(domain: str, written: dict[str, Any]) -> dict[str, str]:
    """A weather entity's attribute units among `written` (unit attribute -> unit)."""
    if domain != "weather":
        return {}
    return {name: str(written[name]) for name in WEATHER_UNITS if written.get(name)}


def full_entity_id(domain: str, entity_id: str) -> str:
    """`domain.object_id` from the official layout's tags (or an id that already has it)."""
    if domain and not entity_id.startswith(f"{domain}."):
        return f"{domain}.{entity_id}"
    return entity_id


def _measurement_is_unit(measurement: str, entity_id: str, domain: str) -> bool:
    # measurement_attr entity_id / domain__device_class, or HA's fallback to the entity id.
    return not (
        measurement in (entity_id, domain) or "__" in measurement or _ENTITY_ID.match(measurement)
    )


def _select(db: str, query: str) -> Iterator[Row]:
    with get_timeseries().query(db, query) as rows:
        yield from rows


# --- Official layout -------------------------------------------------------------------------
def _scan_official(db: str) -> Iterator[Found]:
    ts = get_timeseries()
    for measurement in ts.measurements(db):
        if measurement == INGESTOR_MEASUREMENT or measurement in OWN_MEASUREMENTS:
            continue
        if not {"entity_id", "domain"} <= set(ts.tag_keys(db, measurement)):
            continue  # not written by Home Assistant's integration (enrichment data, ...)
        table, group = quote_ident(measurement), 'GROUP BY "domain", "entity_id"'
        first = {_key(r): r for r in _select(db, f"SELECT * FROM {table} {SINCE} {group} LIMIT 1")}
        last = {
            _key(r): r
            for r in _select(db, f"SELECT * FROM {table} {group} ORDER BY time DESC LIMIT 1")
        }
        for key, newest in last.items():
            if not all(key):
                continue  # no domain or entity_id tag: not a series Home Assistant wrote
            yield _official_entity(measurement, key, first.get(key, newest), newest)


def _key(row: Row) -> tuple[str, str]:
    return row.tags.get("domain", ""), row.tags.get("entity_id", "")


def _official_entity(measurement: str, key: tuple[str, str], first: Row, last: Row) -> Found:
    domain, object_id = key
    entity_id = full_entity_id(domain, object_id)
    rows = (last, first)

    def attribute(name: str) -> str:
        return next((str(r.values[name]) for r in rows if r.values.get(name) is not None), "")

    unit = attribute("unit_of_measurement_str")
    if not unit and _measurement_is_unit(measurement, entity_id, domain):
        unit = measurement
    device_class = attribute("device_class_str") or (
        measurement.split("__", 1)[1] if measurement.startswith(f"{domain}__") else ""
    )
    numeric = any(as_number(r.values.get("value")) is not None for r in rows)
    found = _found(entity_id, domain, unit, device_class, numeric, (first, last),
                   measurement=measurement, layout=Entity.Layout.OFFICIAL,
                   friendly_name=attribute("friendly_name_str"))  # fmt: skip
    found.attribute_units = _weather_units(domain, official_units(last.values))
    return found


# --- Ingestor layout -------------------------------------------------------------------------
def _scan_ingestor(db: str) -> Iterator[Found]:
    table = quote_ident(INGESTOR_MEASUREMENT)
    states = "(\"event_type\" = 'state_changed' OR \"event_type\" = '')"
    real = f'("state_value" {_REAL_STATE} OR "state" {_REAL_STATE})'
    base = f"SELECT * FROM {table} WHERE {states}"
    group = 'GROUP BY "entity_id"'
    since = SINCE.replace("WHERE", "AND")
    first = {r.tags["entity_id"]: r for r in _select(db, f"{base} {since} {group} LIMIT 1")}
    last = {
        r.tags["entity_id"]: r for r in _select(db, f"{base} {group} ORDER BY time DESC LIMIT 1")
    }
    known = {
        r.tags["entity_id"]: r
        for r in _select(db, f"{base} AND {real} {group} ORDER BY time DESC LIMIT 1")
    }
    for tag, newest in last.items():
        if tag:
            yield _ingestor_entity(tag, first.get(tag, newest), newest, known.get(tag))


def _ingestor_entity(tag: str, first: Row, last: Row, known: Row | None) -> Found:
    describing = known or last  # the newest point with a real state says the most
    domain = str(describing.values.get("domain") or "") or tag.split(".", 1)[0]
    entity_id = full_entity_id(domain, tag)
    attributes = _string_attributes(describing.values)
    unit = attributes.get("unit_of_measurement", "")
    device_class = str(describing.values.get("device_class") or "") or attributes.get(
        "device_class", ""
    )
    state = describing.values.get("state_value")
    if state is None:
        state = describing.values.get("state")
    if known is not None:
        numeric = as_number(state) is not None
    else:  # only gaps so far: a unit says it measures something
        numeric = bool(unit)
    found = _found(entity_id, domain, unit, device_class, numeric, (first, last),
                   measurement=INGESTOR_MEASUREMENT, layout=Entity.Layout.INGESTOR,
                   friendly_name=attributes.get("friendly_name", ""),
                   area=str(last.values.get("area") or ""))  # fmt: skip
    found.attribute_units = _weather_units(domain, attributes)
    return found


def _string_attributes(values: dict[str, Any]) -> dict[str, str]:
    """The ingestor's string attributes (unit, friendly name, device class); a JSON one wins
    over an `attr_<name>` field of the same name, JSON that cannot be read is passed over."""
    parsed, old = ingestor_raw_attributes(values)
    pairs = (*old.items(), *(parsed or {}).items())
    return {key: value for key, value in pairs if isinstance(value, str)}


# --- The whole database ---------------------------------------------------------------------
def detect_layout(database: str) -> str:
    """'ingestor' when the database has the measurement home_assistant_events, else 'official'."""
    measurements = get_timeseries().measurements(database)
    return (
        Entity.Layout.INGESTOR if INGESTOR_MEASUREMENT in measurements else Entity.Layout.OFFICIAL
    )


def scan(database: str, layout: str) -> list[Found]:
    """Every entity in the database, one per entity id (the most recently written place
    wins when an entity moved, e.g. to another unit; its first_seen is the earliest)."""
    entities: dict[str, Found] = {}
    places: dict[str, list[tuple[datetime | None, dict[str, Any]]]] = {}
    scanner = _scan_ingestor if layout == Entity.Layout.INGESTOR else _scan_official
    for found in scanner(database):
        place: dict[str, Any] = {"measurement": found.measurement, "unit": found.unit}
        if found.attribute_units:
            place["units"] = found.attribute_units
        places.setdefault(found.entity_id, []).append((found.first_seen, place))
        seen = entities.get(found.entity_id)
        if seen is None:
            entities[found.entity_id] = found
            continue
        newer, older = (found, seen) if found.last_seen > seen.last_seen else (seen, found)
        newer.series_start = newer.series_start or newer.first_seen
        newer.first_seen = min(newer.first_seen, older.first_seen)
        entities[found.entity_id] = newer
    for entity_id, found in entities.items():
        oldest_first = sorted(places[entity_id], key=lambda p: p[0] or EARLIEST_TIME)
        found.series = [place for _, place in oldest_first]
    return [entities[k] for k in sorted(entities)]
