"""Where one entity's raw points are in Home Assistant's database, and how each becomes a
`Sample` with its reading in W / kWh (a temperature in the entity's unit, a weather entity's
attributes in the units of its newest point).

Layouts (reference/ha_influx_schema.md):

- official (HA's InfluxDB integration): tags `domain` and `entity_id` = the object id; field
  `value` (numeric state, and 1/0 for on/off-like states), `state` (string state), attributes
  as fields (numeric, or `<name>_str`);
- ingestor (HA Ingestor): measurement `home_assistant_events`, tag `entity_id` = the full id;
  field `state_value` (the state as a string) and `attributes` (JSON). The older writer of the
  same project stored `state` and one `attr_<name>` field per attribute instead. Events whose
  `event_type` tag is set to anything but `state_changed` are not states and are ignored.

One history in several measurements: the official integration writes each unit to its own
measurement by default, so a power sensor switched from W to kW goes on in the measurement
`kW` while its earlier points stay in `W`. Discovery records every measurement it found the
entity in, with the unit Home Assistant wrote there last (`Entity.series`), a weather entity's
also with the units its attributes were written in there last (`"units": {"temperature_unit":
"°C", "pressure_unit": "hPa", ...}`); `raw_measurements` lists them, the current one
(`Entity.measurement`) last, and every read, count and delete of the entity's raw points
covers them all. Each point's reading is converted by the unit it was written under
(`retention.entities.units`), so the samples of a power sensor are in W whatever it wrote,
those of a temperature sensor switched from °F to °C in °C, and a weather entity's attributes
by the unit attributes written with them (`temperature_unit`, ...).

Duplicate timestamps: InfluxDB keeps one point per series and time, but one entity can have
several series (ingestor events differing in other tags such as `area`; official points
whose static tags changed; points in several measurements). Points of one entity with the
same time are one sample, the last one winning: in one measurement the last InfluxDB returns,
across measurements the one of the measurement `raw_measurements` lists later.

Several Home Assistant instances writing to the database, told apart by the integration's
global `tags:`: HA_INFLUXDB_TAGS names the tags of the one enrich reads (`instance_tags`), and
every read, count and delete of raw points, and discovery, takes only its points.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from enrich.influx import Row, quote_ident
from retention.entities.points import (
    INGESTOR_MEASUREMENT,
    ingestor_attributes,
    sample_from_official,
    sample_from_state,
)
from retention.entities.samples import Sample, at_nanos
from retention.entities.units import UNIT_ATTRIBUTE, Units, converted
from retention.models import Entity

logger = logging.getLogger(__name__)


def raw_measurements(entity: Entity) -> tuple[str, ...]:
    """Every measurement holding the entity's raw points, its current one last."""
    current = entity.measurement
    if entity.layout == Entity.Layout.INGESTOR:
        current = current or INGESTOR_MEASUREMENT
    older = (s.get("measurement") for s in entity.series or () if isinstance(s, dict))
    return (*dict.fromkeys(m for m in older if m and m != current), current)


def instance_tags() -> dict[str, str]:
    """HA_INFLUXDB_TAGS: the tags of the Home Assistant instance enrich reads ({}: any)."""
    return dict(settings.HA_INFLUXDB_TAGS)


def instance_condition() -> tuple[str, dict[str, str]]:
    """(" AND <the instance's tags>" or "", its params) for a query of raw points."""
    tags = instance_tags()
    clause = "".join(f" AND {quote_ident(k)} = $ha_tag{n}" for n, k in enumerate(tags))
    return clause, {f"ha_tag{n}": value for n, value in enumerate(tags.values())}


def instance_where(since: str) -> tuple[str, str]:
    """(the WHERE clause `since` with the instance's tags, a WHERE clause of only these or "")."""
    tags = instance_condition()[0]
    return since + tags, (f"WHERE {tags.removeprefix(' AND ')}" if tags else "")


@dataclass(frozen=True)
class Source:
    entity: Entity
    measurements: tuple[str, ...]  # `raw_measurements`: the current one last
    where: str  # InfluxQL condition selecting the entity's points (without time)
    params: dict[str, Any]
    state_fields: tuple[str, str]  # every sample has at least one of these fields
    units: Units = field(compare=False)

    def sample(self, row: Row, warned: list[bool]) -> Sample | None:
        """The point's Sample, its reading converted by the unit it was written under."""
        kind = self.entity.kind
        if self.entity.layout == Entity.Layout.OFFICIAL:
            sample = sample_from_official(row.time, row.values, kind)
            return converted(sample, *self.units.official(row.measurement, row.values))
        raw = row.values.get("state_value")
        if raw is None:
            raw = row.values.get("state")
        if raw is None:
            return None
        attributes, units = ingestor_attributes(row.values)
        if attributes is None:
            attributes = {}
            if not warned[0]:
                warned[0] = True
                logger.warning(
                    "%s: the attributes field at %s is not JSON; its attributes are ignored "
                    "(the state is used). Later such points are not reported again.",
                    self.entity.entity_id,
                    row.time,
                )
        sample = sample_from_state(row.time, str(raw), kind, attributes, units)
        convert = self.units.convert(row.measurement, units[UNIT_ATTRIBUTE])
        return converted(sample, convert, self.units.attributes(row.measurement, units))


class UnreadableEntity(ValueError):
    """The registry entry says nothing usable about where the entity's points are (no layout
    or an unknown one, an id without its domain); the message says what to fix."""


def source_of(entity: Entity) -> Source:
    """Where the entity's points are; UnreadableEntity naming what to fix when they cannot be
    found."""
    instance, tagged = instance_condition()
    if entity.layout == Entity.Layout.OFFICIAL:
        if "." not in entity.entity_id:
            raise UnreadableEntity(
                f"entity id {entity.entity_id!r} is not of the form domain.object_id; delete "
                "it in the admin (discovery, manage.py discover_entities, registers the entity "
                "under its full id)."
            )
        return Source(
            entity,
            raw_measurements(entity),
            '"entity_id" = $object_id AND "domain" = $domain' + instance,
            {"object_id": entity.object_id, "domain": entity.domain, **tagged},
            ("value", "state"),
            Units(entity),
        )
    if entity.layout == Entity.Layout.INGESTOR:
        return Source(
            entity,
            raw_measurements(entity),
            # Other event types are not states; a missing tag compares equal to ''.
            '"entity_id" = $entity_id AND ("event_type" = \'state_changed\' OR '
            "\"event_type\" = '')" + instance,
            {"entity_id": entity.entity_id, **tagged},
            ("state_value", "state"),
            Units(entity),
        )
    said = f"layout {entity.layout!r} is unknown" if entity.layout else "it has no layout"
    choices = " or ".join(repr(label) for label in Entity.Layout.labels)  # as the admin lists them
    raise UnreadableEntity(
        f"{entity.entity_id}: {said}; set it to {choices} in the admin "
        "(Retention → Entities), or rerun discovery (manage.py discover_entities), which sets it."
    )


def deduplicated(rows: Iterable[Row], source: Source) -> Iterator[Sample]:
    """Samples of time-ordered rows; of rows with the same time the last one wins."""
    warned = [False]
    pending: Sample | None = None
    pending_ns: int | None = None
    for row in rows:
        sample = source.sample(row, warned)
        if sample is None:
            continue
        sample = at_nanos(sample, (row.time_ns or 0) % 1000)
        if pending is not None and row.time_ns != pending_ns:
            yield pending
        pending, pending_ns = sample, row.time_ns
    if pending is not None:
        yield pending


def merged_rows(streams: list[Iterable[Row]]) -> Iterator[Row]:
    """The rows of several time-ordered streams (one per measurement, in `raw_measurements`'
    order) in one time order; of rows with the same time, those of a later stream come later."""
    if len(streams) == 1:
        return iter(streams[0])
    return heapq.merge(*streams, key=lambda row: row.time_ns)


def merged_samples(runs: list[list[Sample]]) -> list[Sample]:
    """Samples of several time-ordered runs (one per measurement, in `raw_measurements`'
    order) in one time order; of samples with the same time, the one of the later run wins."""
    runs = [run for run in runs if run]
    if len(runs) <= 1:
        return runs[0] if runs else []
    out: list[Sample] = []
    for sample in heapq.merge(*runs, key=lambda s: s.instant):
        if out and out[-1].instant == sample.instant:
            out[-1] = sample
        else:
            out.append(sample)
    return out
