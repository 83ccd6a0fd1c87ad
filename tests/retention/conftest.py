"""Fixtures and helpers for retention tests: Home Assistant data in either InfluxDB layout.

Fixtures
- `ha_db` -> `HaDatabase`: a fresh, uniquely named InfluxDB database (only the default tier
  `autogen`), dropped after the test. The Django settings HA_INFLUXDB_DATABASE and
  TIER_DATABASE point at it for the test, so code reading settings finds it.
- `layout` -> "official" | "ingestor": parametrizes a test over both layouts.
- `ingestor_writer` -> "json" | "attr": parametrizes over the HA Ingestor's two writers
  (`attributes` JSON + `state_value`, or the older `state` + `attr_<name>` fields).

Writing Home Assistant states from a compact description
    entity = ha_db.write_entity(layout, "sensor.fridge_power", [(0, 120.5), (60, 0)], unit="W")
    entity = ha_db.write_entity(
        layout, "weather.home", [(0, "sunny", {"temperature": 12.5, "humidity": 70})]
    )
A point is `(time, state)` or `(time, state, attributes)`. `time` is seconds after `T0`
(int/float) or an aware datetime; `state` is what Home Assistant's state machine holds: a
number for numeric sensors, a string otherwise ("on", "off", "sunny", "unavailable").
The writers follow each layout's writer (reference/ha_influx_schema.md):
- official (`official_readings`): measurement = the unit, else the full entity id; tags
  `domain`, `entity_id` (object id); a numeric state -> field `value`; on/off-like states
  -> `value` 1/0 and `state`; other states -> `state`; attributes -> float fields, or
  `<name>_str` for strings. unknown/unavailable/"" are NOT written (HA skips them).
- ingestor (`ingestor_readings`): measurement `home_assistant_events`, tags `entity_id`
  (full), `domain`, `event_type=state_changed` (+ `area`, `device_class` when given);
  fields `state_value` (the state as text, gaps included), `previous_state`, `attributes`
  (JSON with unit_of_measurement, friendly_name, device_class and the attributes); with
  `writer="attr"` the older fields `state`, `old_state`, `attr_<name>` instead.
`write_entity` returns an unsaved `retention.models.Entity` describing where the points are
(kind guessed from domain/unit unless given); `saved_entity` takes the same arguments and
saves it too (under django_db) as discovery would, first seen at its first point.
`ha_db.write(readings)` writes any `Reading`s; `ha_db.write_demo_home(layout, ...)` writes
`retention.demo.generate_demo_home`'s home in either layout and returns its official readings
(`official_to_ingestor` converts one official reading to the ingestor layout).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from enrich.influx import get_timeseries
from enrich.readings import Reading
from retention.demo import generate_demo_home
from retention.entities.points import GAP_STATES, HA_STATE_NUMBERS, INGESTOR_MEASUREMENT
from retention.entities.scan import BINARY_DOMAINS, kind_for
from retention.models import Entity
from tests.support.archive import (  # noqa: F401  (fixtures: tier, s3, local_archive)
    local_archive_fixture,
    moto_server_slot_fixture,
    s3_fixture,
    tier_fixture,
)
from tests.support.isolation import fresh_database
from tests.support.redis_server import commands_redis_fixture  # noqa: F401  (fixture)

T0 = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday, no DST change near it
LAYOUTS = ("official", "ingestor")

Point = tuple[Any, ...]  # (time, state) or (time, state, attributes)


@dataclass(frozen=True)
class NanoReading(Reading):
    """A point `nanos` nanoseconds past its (microsecond) time, as writers with nanosecond
    times (Telegraf, Node-RED, scripts) put them into Home Assistant's database."""

    nanos: int = 0

    @property
    def time_ns(self) -> int:
        return super().time_ns + self.nanos


def at(moment: float | datetime) -> datetime:
    """Seconds after T0 (or an aware datetime, unchanged) as a datetime."""
    if isinstance(moment, datetime):
        return moment
    return T0 + timedelta(seconds=moment)


def state_text(state: Any) -> str:
    """The state as Home Assistant's state machine holds it (a string)."""
    if isinstance(state, bool):
        return "on" if state else "off"
    return str(state)


def _split(point: Point) -> tuple[datetime, Any, Mapping[str, Any]]:
    if len(point) == 2:
        return at(point[0]), point[1], {}
    return at(point[0]), point[1], point[2]


def _entity_tags(entity_id: str) -> tuple[str, str]:
    domain, _, object_id = entity_id.partition(".")
    if not object_id:
        raise ValueError(f"{entity_id!r}: use the full id domain.object_id")
    return domain, object_id


def official_readings(
    entity_id: str,
    points: Iterable[Point],
    *,
    unit: str = "",
    measurement: str | None = None,
    friendly_name: str = "",
    device_class: str = "",
    extra_tags: Mapping[str, str] | None = None,
) -> list[Reading]:
    """The points HA's InfluxDB integration writes for these states (gaps skipped, as HA)."""
    domain, object_id = _entity_tags(entity_id)
    measurement = measurement or unit or entity_id
    tags = {"domain": domain, "entity_id": object_id, **(extra_tags or {})}
    readings = []
    for time, state, attributes in map(_split, points):
        text = state_text(state)
        if text in GAP_STATES:
            continue
        fields: dict[str, Any] = {}
        try:
            fields["value"] = float(text)
        except ValueError:
            fields["state"] = text
            if text in HA_STATE_NUMBERS:
                fields["value"] = HA_STATE_NUMBERS[text]
        described = {
            "friendly_name": friendly_name,
            "device_class": device_class,
            "unit_of_measurement": unit if unit != measurement else "",
        }
        for key, value in {**{k: v for k, v in described.items() if v}, **attributes}.items():
            try:
                fields[key] = float(value)
            except (TypeError, ValueError):
                fields[f"{key}_str"] = str(value)
        readings.append(Reading(measurement, fields, time, tags))
    return readings


def ingestor_readings(
    entity_id: str,
    points: Iterable[Point],
    *,
    unit: str = "",
    friendly_name: str = "",
    device_class: str = "",
    area: str = "",
    writer: str = "json",
    event_type: str = "state_changed",
    extra_tags: Mapping[str, str] | None = None,
) -> list[Reading]:
    """The points the HA Ingestor writes for these states (every state, gaps included)."""
    domain, _ = _entity_tags(entity_id)
    if writer not in ("json", "attr"):
        raise ValueError(f"writer {writer!r}: use 'json' or 'attr'")
    tags = {"entity_id": entity_id, "domain": domain, "event_type": event_type}
    tags.update({k: v for k, v in (("area", area), ("device_class", device_class)) if v})
    tags.update(extra_tags or {})
    readings = []
    previous = ""
    for time, state, attributes in map(_split, points):
        text = state_text(state)
        described = {
            "unit_of_measurement": unit,
            "friendly_name": friendly_name,
            "device_class": device_class,
        }
        every = {**{k: v for k, v in described.items() if v}, **attributes}
        if writer == "json":
            fields: dict[str, Any] = {
                "state_value": text,
                "previous_state": previous,
                "attributes": json.dumps(every),
                "context_id": uuid.uuid5(uuid.NAMESPACE_URL, f"{entity_id}{time}").hex,
            }
        else:
            fields = {"state": text, "old_state": previous}
            for key, value in every.items():
                fields[f"attr_{key}"] = value if isinstance(value, str) else float(value)
        readings.append(Reading(INGESTOR_MEASUREMENT, fields, time, tags))
        previous = text
    return readings


def official_to_ingestor(reading: Reading) -> Reading:
    """One point of the official layout (e.g. from retention.demo) as the HA Ingestor writes it."""
    domain = reading.tags["domain"]
    entity_id = f"{domain}.{reading.tags['entity_id']}"
    fields = reading.fields
    state = fields["state"] if "state" in fields else repr(float(fields["value"]))
    attributes: dict[str, Any] = {}
    for key, value in fields.items():
        if key in ("value", "state"):
            continue
        attributes[key.removesuffix("_str")] = value
    if reading.measurement not in (entity_id, domain):
        attributes.setdefault("unit_of_measurement", reading.measurement)
    tags = {"entity_id": entity_id, "domain": domain, "event_type": "state_changed"}
    if "device_class" in attributes:
        tags["device_class"] = str(attributes["device_class"])
    payload = {"state_value": state, "attributes": json.dumps(attributes)}
    return Reading(INGESTOR_MEASUREMENT, payload, reading.time, tags)


def guess_kind(entity_id: str, unit: str, points: Sequence[Point]) -> str:
    domain = entity_id.split(".", 1)[0]
    numeric = any(isinstance(p[1], int | float) and not isinstance(p[1], bool) for p in points) or (
        domain in BINARY_DOMAINS
    )
    return kind_for(domain, unit, "", numeric)


class HaDatabase:
    """A test database holding Home Assistant data; see the module docstring."""

    def __init__(self, name: str) -> None:
        self.name = name

    def write(self, readings: Iterable[Reading]) -> int:
        return get_timeseries().write(self.name, readings)

    def write_entity(
        self,
        layout: str,
        entity_id: str,
        points: Sequence[Point],
        *,
        kind: str | None = None,
        writer: str = "json",
        **options: Any,
    ) -> Entity:
        """Write the points in `layout`; return the (unsaved) Entity that reads them back.
        `options` go to `official_readings` / `ingestor_readings` (unit, friendly_name, ...)."""
        unit = options.get("unit", "")
        if layout == "official":
            ingestor_only = {"area", "event_type"} & options.keys()
            if ingestor_only:
                raise ValueError(f"{sorted(ingestor_only)} exist only in the ingestor layout")
            readings = official_readings(entity_id, points, **options)
            measurement = options.get("measurement") or unit or entity_id
        elif layout == "ingestor":
            options.pop("measurement", None)
            readings = ingestor_readings(entity_id, points, writer=writer, **options)
            measurement = INGESTOR_MEASUREMENT
        else:
            raise ValueError(f"layout {layout!r}: use one of {LAYOUTS}")
        self.write(readings)
        return Entity(
            entity_id=entity_id,
            kind=kind or guess_kind(entity_id, unit, points),
            unit=unit,
            layout=layout,
            measurement=measurement,
            area=options.get("area", ""),
        )

    def saved_entity(
        self, layout: str, entity_id: str, points: Sequence[Point], **options: Any
    ) -> Entity:
        """`write_entity`, then save the Entity as discovery registers it: first seen at its
        first point (the views count an entity only from then)."""
        entity = self.write_entity(layout, entity_id, points, **options)
        entity.first_seen = min(at(point[0]) for point in points)
        entity.save()
        return entity

    def write_demo_home(
        self, layout: str, *, days: int = 2, entities: int = 6, end: datetime = T0, seed: int = 1
    ) -> list[Reading]:
        """Write retention.demo's home in `layout`; return the official-layout readings."""
        readings = list(generate_demo_home(days, entities, end, seed))
        self.write(readings if layout == "official" else map(official_to_ingestor, readings))
        return readings


@pytest.fixture
def ha_db(settings) -> Iterator[HaDatabase]:
    with fresh_database("ha") as name:
        settings.HA_INFLUXDB_DATABASE = name
        settings.TIER_DATABASE = name
        yield HaDatabase(name)


@pytest.fixture(params=LAYOUTS)
def layout(request) -> str:
    return request.param


@pytest.fixture(params=("json", "attr"))
def ingestor_writer(request) -> str:
    return request.param
