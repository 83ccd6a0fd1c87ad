"""What Home Assistant wrote to InfluxDB, one `Found` per entity, in either layout.

`scan()` reads per entity its first point, its newest point and (HA Ingestor layout) its
newest point with a real state, and describes the entity:

- entity id: always the full `domain.object_id` (the official layout tags only the object id);
- kind (`kind_for`): domain binary_sensor/input_boolean/switch/light -> binary; weather ->
  weather; unit W/kW (or device class power) -> power; unit kWh/Wh (or device class energy)
  -> energy (a kWh entity is taken for a meter); then numeric when Home Assistant holds the
  states to be numbers (`measures`: a unit, a state class, a sensor device class other than
  date/enum/timestamp, the domains input_number/number/counter; its other states are then
  errors or gaps); else from every state InfluxDB still holds (`Found.numbers`/`texts`,
  counted by InfluxDB; gaps count as neither, on/off-like states are text in both layouts):
  numeric when numbers are at least half of them, text otherwise. Never from the newest state
  alone, which an integration's "error" or a week of "on"/"off" would flip; a registered
  entity keeps numeric or text while its states are mixed (`settled_kind`);
- unit: the `unit_of_measurement` attribute, else (official layout) the measurement when it
  is a unit: not an entity id, `domain__device_class`, nor a measurement that holds what HA
  never files under a unit (`_unit_less`: its `default_measurement`, HA_DEFAULT_MEASUREMENT
  when set, or one with a unit field, a binary sensor or weather entity, a date/enum/timestamp
  sensor, or an entity with only text states);
- device class: official layout the `device_class_str` field or tag (`official_attribute`), or
  the measurement when it is `domain__device_class` (HA then leaves the attribute out);
  ingestor layout the `device_class` tag (else the attribute); "" when the entity has none;
- friendly name, area (ingestor `area` tag of the newest point: none there is no area, once
  the writer records areas, i.e. any point has the tag), measurement, first_seen/last_seen;
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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from enrich.influx import Row, get_timeseries, quote_ident
from retention.day_ranges import EARLIEST_TIME
from retention.entities.points import INGESTOR_MEASUREMENT, ingestor_raw_attributes
from retention.entities.sources import instance_condition, instance_where
from retention.entities.units import WEATHER_UNITS, official_attribute, official_units
from retention.models import Entity
from retention.schema import TIER_MEASUREMENT

BINARY_DOMAINS = frozenset({"binary_sensor", "input_boolean", "switch", "light"})
# Domains whose states Home Assistant keeps numeric; sensor device classes that are not.
NUMERIC_DOMAINS = frozenset({"input_number", "number", "counter"})
TEXT_SENSOR_CLASSES = frozenset({"date", "enum", "timestamp"})
POWER_UNITS = frozenset({"W", "kW"})
ENERGY_UNITS = frozenset({"kWh", "Wh"})
# Measurements of ours that can live in Home Assistant's database (the tiers).
OWN_MEASUREMENTS = frozenset({TIER_MEASUREMENT})
_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[A-Za-z0-9_]+$")
_REAL_STATE = "!~ /^(unknown|unavailable)?$/"  # a field with a state that is not a gap
# A state string HA's writer stores as a number (as `as_number`: float(), finite, no "_").
_NUMBER = r"/^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$/"
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
    # Not registry fields: the state class, and the states still in InfluxDB that are numbers
    # and that are text (gaps are neither), which decide numeric or text (`kind_for`).
    state_class: str = ""
    numbers: int = 0
    texts: int = 0
    # Not a registry field: whether the data says the area, "" included (the HA Ingestor
    # tags a point with the entity's area while it has one, if it records areas at all).
    area_known: bool = False

    @property
    def by_states(self) -> bool:
        """Whether the kind was decided by the states (numeric or text, nothing else says)."""
        domain = self.entity_id.split(".", 1)[0]
        return self.kind in (Entity.Kind.NUMERIC, Entity.Kind.TEXT) and not measures(
            domain, self.unit, self.device_class, self.state_class
        )

    def describe(self) -> None:
        """Set the kind from what was found (`kind_for`)."""
        numeric = self.numbers > 0 and self.numbers >= self.texts
        domain = self.entity_id.split(".", 1)[0]
        self.kind = kind_for(domain, self.unit, self.device_class, numeric, self.state_class)


def measures(domain: str, unit: str, device_class: str, state_class: str) -> bool:
    """Whether Home Assistant holds the entity's states to be numbers: a sensor with a unit,
    a state class or a numeric device class has only numeric states (others are errors and
    gaps), and so have input_number, number and counter entities."""
    if unit or state_class or domain in NUMERIC_DOMAINS:
        return True
    return domain == "sensor" and bool(device_class) and device_class not in TEXT_SENSOR_CLASSES


def kind_for(
    domain: str, unit: str, device_class: str, numeric: bool, state_class: str = ""
) -> str:
    """The registry kind of an entity, from its domain, unit, device class, state class and,
    when these do not say, whether its states are numbers (`numeric`)."""
    if domain in BINARY_DOMAINS:
        return Entity.Kind.BINARY
    if domain == "weather":
        return Entity.Kind.WEATHER
    if unit in POWER_UNITS or (not unit and device_class == "power"):
        return Entity.Kind.POWER
    if unit in ENERGY_UNITS or (not unit and device_class == "energy"):
        return Entity.Kind.ENERGY
    if measures(domain, unit, device_class, state_class):
        return Entity.Kind.NUMERIC
    return Entity.Kind.NUMERIC if numeric else Entity.Kind.TEXT


def settled_kind(found: Found, registered: str) -> str:
    """The kind of an entity registered as `registered`: one whose states decide between
    numeric and text keeps its kind unless every state InfluxDB still holds is of the other
    kind (retention deletes old states: a week of text states must not flip a numeric sensor,
    whose days would be aggregated under one kind and their late points under another)."""
    if not found.by_states or registered not in (Entity.Kind.NUMERIC, Entity.Kind.TEXT):
        return found.kind
    other = found.texts if registered == Entity.Kind.NUMERIC else found.numbers
    own = found.numbers if registered == Entity.Kind.NUMERIC else found.texts
    return found.kind if other and not own else registered


def _found(entity_id: str, unit: str, device_class: str, states: tuple[int, int],
           seen: tuple[Row, Row], **where: str) -> Found:  # fmt: skip
    """The entity as found: its kind (`kind_for`) from its (numbers, texts) `states`, first and
    last seen from the scan's (first, last) rows; `where`: measurement, layout, friendly
    name, area, state class."""
    first, last = seen
    found = Found(entity_id=entity_id, kind="", unit=unit, device_class=device_class,
                  first_seen=first.time, last_seen=last.time, **where)  # fmt: skip
    found.numbers, found.texts = states
    found.describe()
    return found


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


def _measurement_is_unit(measurement: str, entity_id: str, domain: str, unit_less: bool) -> bool:
    # measurement_attr entity_id / domain__device_class, HA's fallback to the entity id, or a
    # measurement that cannot be a unit (`_unit_less`).
    return not (
        unit_less
        or measurement in (entity_id, domain)
        or "__" in measurement
        or _ENTITY_ID.match(measurement)
    )


def _unit_less(measurement: str, fields: dict[str, str], rows: list[Row],
               states: dict[Any, tuple[int, int]]) -> bool:  # fmt: skip
    """Whether the measurement holds what Home Assistant never files under a unit: it is the
    configured `default_measurement` (HA_DEFAULT_MEASUREMENT), its points carry the unit as a
    field (written only when the unit is not the measurement: `override_measurement`), or it
    holds an entity of a domain without units (binary sensors, weather), a sensor of a device
    class without units (date, enum, timestamp) or one whose every state is text (HA refuses
    text states of a sensor with a unit). `rows`: each entity's newest point."""
    return (
        measurement == settings.HA_DEFAULT_MEASUREMENT
        or "unit_of_measurement_str" in fields
        or any(_key(r)[0] in BINARY_DOMAINS | {"weather"} for r in rows)
        or any(official_attribute(r.values, "device_class") in TEXT_SENSOR_CLASSES for r in rows)
        or any(texts and not numbers for numbers, texts in states.values())
    )


def _select(db: str, query: str) -> Iterator[Row]:
    with get_timeseries().query(db, query, params=instance_condition()[1]) as rows:
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
        since, only = instance_where(SINCE)  # HA_INFLUXDB_TAGS
        first = {_key(r): r for r in _select(db, f"SELECT * FROM {table} {since} {group} LIMIT 1")}
        last = {
            _key(r): r
            for r in _select(db, f"SELECT * FROM {table} {only} {group} ORDER BY time DESC LIMIT 1")
        }
        fields = ts.field_keys(db, measurement)
        states = _official_states(db, table, fields)
        unit_less = _unit_less(measurement, fields, list(last.values()), states)
        for key, newest in last.items():
            if not all(key):
                continue  # no domain or entity_id tag: not a series Home Assistant wrote
            seen = (first.get(key, newest), newest)
            yield _official_entity(measurement, key, seen, states.get(key, (0, 0)), unit_less)


def _key(row: Row) -> tuple[str, str]:
    return row.tags.get("domain", ""), row.tags.get("entity_id", "")


def _counts(db: str, query: str, key: Callable[[Row], Any]) -> Counter:
    """COUNT per group of `query`, by `key` of its rows."""
    return Counter({key(r): int(r.values.get("count") or 0) for r in _select(db, query)})


def _official_states(db: str, table: str, fields: dict[str, str]) -> dict[Any, tuple[int, int]]:
    """(numbers, texts) per (domain, entity_id): a state that parsed as a number has only
    `value`; a `state` string is text (on/off-like ones get a `value` 1/0 with it)."""
    group, numbers, texts, both = 'GROUP BY "domain", "entity_id"', Counter(), Counter(), Counter()
    since = instance_where(SINCE)[0]
    if "value" in fields:
        numbers = _counts(db, f'SELECT COUNT("value") FROM {table} {since} {group}', _key)
    if "state" in fields:
        texts = _counts(db, f'SELECT COUNT("state") FROM {table} {since} AND '
                            f'"state" {_REAL_STATE} {group}', _key)  # fmt: skip
        if "value" in fields:
            both = _counts(db, f'SELECT COUNT("value") FROM {table} {since} AND '
                               f'"state" =~ /./ {group}', _key)  # fmt: skip
    return {key: (numbers[key] - both[key], texts[key]) for key in numbers.keys() | texts.keys()}


def _official_entity(measurement: str, key: tuple[str, str], seen: tuple[Row, Row],
                     states: tuple[int, int], unit_less: bool) -> Found:  # fmt: skip
    domain, object_id = key
    entity_id = full_entity_id(domain, object_id)
    first, last = seen
    rows = (last, first)

    def attribute(name: str) -> str:
        return next((found for r in rows if (found := official_attribute(r.values, name))), "")

    unit = attribute("unit_of_measurement")
    if not unit and _measurement_is_unit(measurement, entity_id, domain, unit_less):
        unit = measurement
    device_class = attribute("device_class") or (
        measurement.split("__", 1)[1] if measurement.startswith(f"{domain}__") else ""
    )
    found = _found(entity_id, unit, device_class, states, seen, measurement=measurement,
                   layout=Entity.Layout.OFFICIAL, friendly_name=attribute("friendly_name"),
                   state_class=attribute("state_class"))  # fmt: skip
    found.attribute_units = _weather_units(domain, official_units(last.values))
    return found


# --- Ingestor layout -------------------------------------------------------------------------
def _scan_ingestor(db: str) -> Iterator[Found]:
    table = quote_ident(INGESTOR_MEASUREMENT)
    changes = "(\"event_type\" = 'state_changed' OR \"event_type\" = '')"
    real = f'("state_value" {_REAL_STATE} OR "state" {_REAL_STATE})'
    where = f"FROM {table} WHERE {changes}{instance_condition()[0]}"
    base = f"SELECT * {where}"
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
    ts = get_timeseries()
    states = _ingestor_states(db, where, ts.field_keys(db, INGESTOR_MEASUREMENT))
    areas = "area" in ts.tag_keys(db, INGESTOR_MEASUREMENT)  # it records areas
    for tag, newest in last.items():
        if tag:
            seen = (first.get(tag, newest), newest)
            found = _ingestor_entity(tag, seen, known.get(tag), states.get(tag, (0, 0)))
            found.area_known = areas
            yield found


def _entity_tag(row: Row) -> str:
    return row.tags["entity_id"]


def _ingestor_states(db: str, where: str, fields: dict[str, str]) -> dict[str, tuple[int, int]]:
    """(numbers, texts) per entity_id tag of the state changes `where` selects: states that
    parse as numbers, and the others that are not gaps (`state_value`, or the older writer's
    `state`)."""
    numbers, texts, group = Counter(), Counter(), 'GROUP BY "entity_id"'
    for name in ("state_value", "state"):
        if name not in fields:
            continue
        counted = f'SELECT COUNT("{name}") {where}'
        numbers += _counts(db, f'{counted} AND "{name}" =~ {_NUMBER} {group}', _entity_tag)
        texts += _counts(db, f'{counted} AND "{name}" !~ {_NUMBER} AND "{name}" {_REAL_STATE} '
                             f"{group}", _entity_tag)  # fmt: skip
    return {key: (numbers[key], texts[key]) for key in numbers.keys() | texts.keys()}


def _ingestor_entity(tag: str, seen: tuple[Row, Row], known: Row | None,
                     states: tuple[int, int]) -> Found:  # fmt: skip
    describing = known or seen[1]  # the newest point with a real state says the most
    domain = str(describing.values.get("domain") or "") or tag.split(".", 1)[0]
    entity_id = full_entity_id(domain, tag)
    attributes = _string_attributes(describing.values)
    unit = attributes.get("unit_of_measurement", "")
    device_class = str(describing.values.get("device_class") or "") or attributes.get(
        "device_class", ""
    )
    found = _found(entity_id, unit, device_class, states, seen,
                   measurement=INGESTOR_MEASUREMENT, layout=Entity.Layout.INGESTOR,
                   friendly_name=attributes.get("friendly_name", ""),
                   area=str(seen[1].values.get("area") or ""),
                   state_class=attributes.get("state_class", ""))  # fmt: skip
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
        newer.numbers, newer.texts = newer.numbers + older.numbers, newer.texts + older.texts
        entities[found.entity_id] = newer
    for entity_id, found in entities.items():
        oldest_first = sorted(places[entity_id], key=lambda p: p[0] or EARLIEST_TIME)
        found.series = [place for _, place in oldest_first]
        found.describe()  # the states of all its measurements
    return [entities[k] for k in sorted(entities)]
