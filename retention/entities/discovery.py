"""Fill the entity registry from what Home Assistant wrote to InfluxDB, and optionally the
areas from Home Assistant's own registries.

`discover()` scans the database in the configured layout (or detects it: the measurement
`home_assistant_events` means the HA Ingestor layout), reads per entity its first point, its
newest point and its newest point with a real state, and upserts an `Entity` row:

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
- friendly name, area (ingestor `area` tag), measurement, first_seen/last_seen.

A row a person edited (`edited=True`, set by the admin) keeps its kind, area, unit, device
class and tiered flag; where the data lives (layout, measurement), the name and the seen-times are
always refreshed. first_seen only moves back and last_seen only forward: retention deletes
old raw points, which must not make an entity look younger.

`import_ha_areas()` asks Home Assistant (HA_URL, HA_TOKEN) for every entity's area with one
`POST /api/template`: the REST API has no entity registry, but templates see it
(`areas()`, `area_entities()` — which includes entities inheriting their device's area —
and `area_name()`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from enrich import http
from enrich.errors import Permanent
from enrich.influx import Row, get_timeseries, quote_ident
from retention.entities.ha_source import (
    INGESTOR_MEASUREMENT,
    as_number,
)
from retention.models import Entity
from retention.schema import TIER_MEASUREMENT

BINARY_DOMAINS = frozenset({"binary_sensor", "input_boolean", "switch", "light"})
POWER_UNITS = frozenset({"W", "kW"})
ENERGY_UNITS = frozenset({"kWh", "Wh"})
# Measurements of ours that can live in Home Assistant's database (the tiers).
OWN_MEASUREMENTS = frozenset({TIER_MEASUREMENT})
LAYOUTS = ("official", "ingestor", "auto")
_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[A-Za-z0-9_]+$")
_REAL_STATE = "!~ /^(unknown|unavailable)?$/"  # a field with a state that is not a gap


class DiscoveryError(Permanent):
    """Discovery cannot run as asked (bad layout, missing database); says what to do."""


class AreaImportError(Exception):
    """Home Assistant's areas could not be imported; says what to check."""


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


@dataclass
class DiscoveryReport:
    database: str
    layout: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kinds: Counter = field(default_factory=Counter)  # registry kind of each entity found
    created_ids: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.kinds.items())) or "none"
        return (
            f"Discovered {self.total} entities in {self.database!r} ({self.layout} layout): "
            f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged.\n"
            f"By kind: {kinds}."
        )


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
        base = f'SELECT * FROM {quote_ident(measurement)} GROUP BY "domain", "entity_id"'
        first = {_key(r): r for r in _select(db, f"{base} LIMIT 1")}
        last = {_key(r): r for r in _select(db, f"{base} ORDER BY time DESC LIMIT 1")}
        for key, newest in last.items():
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
    return Found(
        entity_id=entity_id,
        kind=kind_for(domain, unit, device_class, numeric),
        unit=unit,
        measurement=measurement,
        layout=Entity.Layout.OFFICIAL,
        device_class=device_class,
        friendly_name=attribute("friendly_name_str"),
        first_seen=first.time,
        last_seen=last.time,
    )


# --- Ingestor layout -------------------------------------------------------------------------
def _scan_ingestor(db: str) -> Iterator[Found]:
    table = quote_ident(INGESTOR_MEASUREMENT)
    states = "(\"event_type\" = 'state_changed' OR \"event_type\" = '')"
    real = f'("state_value" {_REAL_STATE} OR "state" {_REAL_STATE})'
    base = f"SELECT * FROM {table} WHERE {states}"
    group = 'GROUP BY "entity_id"'
    first = {r.tags["entity_id"]: r for r in _select(db, f"{base} {group} LIMIT 1")}
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
    return Found(
        entity_id=entity_id,
        kind=kind_for(domain, unit, device_class, numeric),
        unit=unit,
        measurement=INGESTOR_MEASUREMENT,
        layout=Entity.Layout.INGESTOR,
        device_class=device_class,
        friendly_name=attributes.get("friendly_name", ""),
        area=str(last.values.get("area") or ""),
        first_seen=first.time,
        last_seen=last.time,
    )


def _string_attributes(values: dict[str, Any]) -> dict[str, str]:
    """The ingestor's attributes as strings (unit, friendly name, device class)."""
    found: dict[str, str] = {}
    raw = values.get("attributes")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            found.update({str(k): str(v) for k, v in parsed.items() if isinstance(v, str)})
    for key, value in values.items():
        if key.startswith("attr_") and isinstance(value, str):
            found.setdefault(key[5:], value)
    return found


# --- Upsert ----------------------------------------------------------------------------------
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
    scanner = _scan_ingestor if layout == Entity.Layout.INGESTOR else _scan_official
    for found in scanner(database):
        seen = entities.get(found.entity_id)
        if seen is None:
            entities[found.entity_id] = found
            continue
        newer, older = (found, seen) if found.last_seen > seen.last_seen else (seen, found)
        newer.first_seen = min(newer.first_seen, older.first_seen)
        entities[found.entity_id] = newer
    return [entities[k] for k in sorted(entities)]


def discover(database: str | None = None, layout: str | None = None) -> DiscoveryReport:
    """Scan Home Assistant's InfluxDB and upsert the registry; see the module docstring.

    `database` defaults to HA_INFLUXDB_DATABASE, `layout` to HA_LAYOUT; "auto" detects it.
    """
    database = database or settings.HA_INFLUXDB_DATABASE
    layout = (layout or settings.HA_LAYOUT).lower()
    if layout not in LAYOUTS:
        raise DiscoveryError(
            f"Layout {layout!r} is not known; use one of {', '.join(LAYOUTS)} (HA_LAYOUT or "
            "--layout)."
        )
    if database not in get_timeseries().databases():
        raise DiscoveryError(
            f"InfluxDB has no database {database!r}. Set HA_INFLUXDB_DATABASE (or pass "
            "--database) to the database Home Assistant writes to."
        )
    if layout == "auto":
        layout = detect_layout(database)
    report = DiscoveryReport(database=database, layout=layout)
    found = scan(database, layout)
    with transaction.atomic():
        existing = Entity.objects.select_for_update().in_bulk(
            [f.entity_id for f in found], field_name="entity_id"
        )
        for item in found:
            outcome, entity = _upsert(item, existing.get(item.entity_id))
            setattr(report, outcome, getattr(report, outcome) + 1)
            report.kinds[entity.kind] += 1
            if outcome == "created":
                report.created_ids.append(entity.entity_id)
    return report


def _upsert(found: Found, entity: Entity | None) -> tuple[str, Entity]:
    if entity is None:
        entity = Entity.objects.create(
            entity_id=found.entity_id,
            kind=found.kind,
            area=found.area,
            unit=found.unit,
            device_class=found.device_class,
            friendly_name=found.friendly_name,
            layout=found.layout,
            measurement=found.measurement,
            first_seen=found.first_seen,
            last_seen=found.last_seen,
        )
        return "created", entity
    wanted: dict[str, Any] = {"layout": found.layout, "measurement": found.measurement}
    if found.friendly_name:
        wanted["friendly_name"] = found.friendly_name
    if found.first_seen and (entity.first_seen is None or found.first_seen < entity.first_seen):
        wanted["first_seen"] = found.first_seen
    if found.last_seen and (entity.last_seen is None or found.last_seen > entity.last_seen):
        wanted["last_seen"] = found.last_seen
    if not entity.edited:
        wanted.update(kind=found.kind, unit=found.unit, device_class=found.device_class)
        if found.area:  # the official layout has no areas: keep what was set
            wanted["area"] = found.area
    changed = [name for name, value in wanted.items() if getattr(entity, name) != value]
    if not changed:
        return "unchanged", entity
    for name in changed:
        setattr(entity, name, wanted[name])
    entity.save(update_fields=[*changed, "updated"])
    return "updated", entity


# --- Areas from Home Assistant ---------------------------------------------------------------
# One rendering gives every entity that has an area (its own, or its device's) and the
# area's name, as JSON pairs. Whitespace control keeps the output pure JSON.
AREAS_TEMPLATE = (
    "{%- set ns = namespace(pairs=[]) -%}"
    "{%- for area in areas() -%}"
    "{%- for entity_id in area_entities(area) -%}"
    "{%- set ns.pairs = ns.pairs + [[entity_id, area_name(area)]] -%}"
    "{%- endfor -%}"
    "{%- endfor -%}"
    "{{ ns.pairs | tojson }}"
)


@dataclass
class AreaImportReport:
    areas_known: int = 0  # entities Home Assistant gave an area (in its registry)
    updated: int = 0
    unchanged: int = 0
    kept_edited: int = 0  # a person set the area in the admin: left alone
    without_area: int = 0  # registry entities Home Assistant knows no area for

    def __str__(self) -> str:
        return (
            f"Areas from Home Assistant: {self.areas_known} entities have an area there; "
            f"{self.updated} updated, {self.unchanged} unchanged, {self.kept_edited} kept "
            f"(edited in the admin), {self.without_area} without an area in Home Assistant."
        )


def fetch_ha_areas(url: str, token: str) -> dict[str, str]:
    """entity_id -> area name, for every entity that has an area in Home Assistant."""
    endpoint = url.rstrip("/") + "/api/template"
    try:
        response = http.request(
            "home_assistant",
            "POST",
            endpoint,
            json={"template": AREAS_TEMPLATE},
            headers={"Authorization": f"Bearer {token}"},
        )
    except http.AuthError as exc:
        raise AreaImportError(
            f"Home Assistant at {url} refused the token (HTTP {exc.status}). Set HA_TOKEN to "
            "a long-lived access token of an admin user (Profile > Security in Home "
            "Assistant): rendering templates needs one."
        ) from exc
    except http.HttpError as exc:
        raise AreaImportError(f"Could not read areas from Home Assistant at {url}: {exc}") from exc
    try:
        pairs = json.loads(response.text)
        areas = {str(entity_id): str(name) for entity_id, name in pairs if name}
    except (ValueError, TypeError) as exc:
        raise AreaImportError(
            f"Home Assistant at {url} answered {endpoint} with something other than the "
            f"expected JSON list of [entity_id, area] pairs (starts: {response.text[:200]!r}). "
            "Check that HA_URL points at Home Assistant itself (e.g. http://homeassistant."
            "local:8123), not at a proxy page."
        ) from exc
    return areas


def import_ha_areas(url: str | None = None, token: str | None = None) -> AreaImportReport:
    """Set each registry entity's area from Home Assistant (HA_URL, HA_TOKEN by default).
    Entities edited in the admin keep theirs; entities without an area in HA keep theirs."""
    url = (url if url is not None else settings.HA_URL).rstrip("/")
    token = token if token is not None else settings.HA_TOKEN
    if not url or not token:
        missing = " and ".join(n for n, v in (("HA_URL", url), ("HA_TOKEN", token)) if not v)
        raise AreaImportError(
            f"{missing} not set: importing areas needs Home Assistant's URL (HA_URL, e.g. "
            "http://homeassistant.local:8123) and a long-lived access token of an admin user "
            "(HA_TOKEN)."
        )
    areas = fetch_ha_areas(url, token)
    report = AreaImportReport(areas_known=len(areas))
    with transaction.atomic():
        for entity in Entity.objects.select_for_update().order_by("entity_id"):
            area = areas.get(entity.entity_id)
            if area is None:
                report.without_area += 1
            elif entity.edited:
                report.kept_edited += 1
            elif entity.area == area:
                report.unchanged += 1
            else:
                entity.area = area
                entity.save(update_fields=["area", "updated"])
                report.updated += 1
    return report
