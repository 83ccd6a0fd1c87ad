"""One day's raw points of a group of official-layout entities, read at once as CSV.

`fetch` sends one query over all the group's measurements (`enrich.influx.bulk`) and
returns the answer unparsed, so a reader thread (`tier_reader.Prefetch`) can read it, and
parse it (`Fetched.parse_ahead`), while the run works on the day before; `parse` turns it into each entity's Samples exactly as `ha_source.read_samples`
would (`sample_from_official` on the typed fields, same-time points deduplicated, the last
one winning). Types come from InfluxDB's own field keys (SHOW FIELD KEYS), read with the
points. CSV cannot tell the empty string from a missing field: an entity with a point
without `state` in a measurement that has a `state` field (HA's "" state is a gap), or with a
cell of a field of mixed or unknown type, is left to `ha_source` (JSON) by `window_samples`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from operator import itemgetter
from typing import Any

from enrich.influx import TimeSeries, get_timeseries, quote_ident
from enrich.influx.bulk import csv_fetch, csv_parse, parse_tags, supports_csv
from enrich.readings import EPOCH
from retention.entities import ha_source
from retention.entities.points import STRING_ATTRIBUTES, finish, sample_from_official
from retention.entities.samples import Sample, at_nanos, aware_sample
from retention.entities.sources import instance_condition, merged_samples, raw_measurements
from retention.entities.units import Convert, Units, converted
from retention.models import Entity
from retention.tiers.aggregate import VALUE_KINDS

CONVERTERS: dict[str, Callable[[str], Any]] = {
    "float": float,
    "integer": int,
    "string": str,
    "boolean": lambda cell: cell == "true",
}
_time_cache: dict[str, datetime] = {}


@dataclass
class Fetched:
    data: bytes
    fields: dict[str, dict[str, str]]  # measurement -> field -> type ("mixed" if several)
    tags: set[str]
    # `parse`'s answer, when the reader thread parsed it ahead: (entity ids, samples, redo)
    parsed: tuple[tuple[str, ...], dict[str, list[Sample]], set[str]] | None = None

    def parse_ahead(self, entities: Sequence[Entity]) -> None:
        """Parse now, in the reader thread (the points only: nothing here depends on what the
        run writes or deletes meanwhile), for `window_samples` to take."""
        samples, redo = parse(entities, self)
        self.parsed = (tuple(e.entity_id for e in entities), samples, redo)


# InfluxDB escapes these in a CSV answer's tags cell (`with\ space`, `a\=b`, `a\,b`).
_ESCAPED_IN_TAGS = frozenset(" ,=\\")
# A query over several measurements answers each field in one type: the first of these
# that any of them has (integers cast to float); the points of a lower one are left out,
# from SELECT and COUNT alike. Field types are asked again after TYPES_SECONDS.
_TYPE_RANK = {"float": 0, "integer": 0, "string": 1, "boolean": 2}
TYPES_SECONDS = 60.0
_outranked: dict[str, tuple[float, frozenset[str]]] = {}


def batchable(entity: Entity, outranked: frozenset[str] = frozenset()) -> bool:
    """Whether the entity's points can be read in a group (CSV): official layout, not in a
    measurement of `outranked`, and tag values the tags cell of the answer gives back as they
    are (`parse_tags` compares them unescaped). Home Assistant's object ids and domains never
    hold a space, ',', '=' or '\\', nor does it write a `value` that is not a number; another
    writer may, and those entities are read through `ha_source` (JSON), one at a time."""
    domain, _, object_id = entity.entity_id.partition(".")
    return (
        entity.layout == Entity.Layout.OFFICIAL
        and outranked.isdisjoint(raw_measurements(entity))
        and _ESCAPED_IN_TAGS.isdisjoint(domain + object_id)
    )


def outranked(ts: TimeSeries, database: str) -> frozenset[str]:
    """The measurements with a field of a type another measurement's same field outranks
    (a boolean or string `value` where others hold numbers): a query over several
    measurements would leave those points out. Asked at most every TYPES_SECONDS."""
    cached = _outranked.get(database)
    now = time.monotonic()
    if cached is not None and now - cached[0] < TYPES_SECONDS:
        return cached[1]
    ranks: dict[str, dict[str, set[int]]] = {}
    for row in ts.query(database, "SHOW FIELD KEYS"):
        field = ranks.setdefault(row.measurement, {}).setdefault(row.values["fieldKey"], set())
        field.add(_TYPE_RANK.get(row.values["fieldType"], len(_TYPE_RANK)))
    best: dict[str, int] = {}
    for fields in ranks.values():
        for name, kinds in fields.items():
            best[name] = min(best.get(name, min(kinds)), min(kinds))
    found = frozenset(
        measurement
        for measurement, fields in ranks.items()
        if any(kinds != {best[name]} for name, kinds in fields.items())
    )
    _outranked[database] = (now, found)
    return found


def selection(entities: Sequence[Entity]) -> tuple[str, str, dict[str, str]]:
    """(FROM list, condition, params) selecting the raw points of official entities, in
    every measurement of theirs (`raw_measurements`)."""
    measurements = ", ".join(quote_ident(m) for m in measurements_of(entities))
    terms, params = [], {}
    for n, entity in enumerate(entities):
        terms.append(f'("entity_id" = $o{n} AND "domain" = $d{n})')
        params[f"o{n}"], params[f"d{n}"] = entity.object_id, entity.domain
    instance, tagged = instance_condition()
    return measurements, "(" + " OR ".join(terms) + ")" + instance, {**params, **tagged}


def measurements_of(entities: Iterable[Entity]) -> list[str]:
    """Every measurement holding raw points of the entities, sorted."""
    return sorted({m for e in entities for m in raw_measurements(e)})


def keyed(entities: Sequence[Entity]) -> dict[tuple[str, str, str], Entity]:
    """(measurement, object id, domain) of each series of the entities -> the entity."""
    return {(m, e.object_id, e.domain): e for e in entities for m in raw_measurements(e)}


def entity_of(by_key: dict, measurement: str, tags: dict[str, str]) -> Entity | None:
    return by_key.get((measurement, tags.get("entity_id", ""), tags.get("domain", "")))


def _types(ts: TimeSeries, database: str) -> tuple[dict[str, dict[str, str]], set[str]]:
    fields: dict[str, dict[str, str]] = {}
    for row in ts.query(database, "SHOW FIELD KEYS"):
        types = fields.setdefault(row.measurement, {})
        name, kind = row.values["fieldKey"], row.values["fieldType"]
        types[name] = kind if types.get(name) in (None, kind) else "mixed"
    tags = {row.values["tagKey"] for row in ts.query(database, "SHOW TAG KEYS")}
    return fields, tags


def _query(entities: Sequence[Entity]) -> tuple[str, dict[str, str]]:
    measurements, where, params = selection(entities)
    return (
        f"SELECT * FROM {measurements} WHERE time >= $start AND time < $end AND {where} "
        'GROUP BY "entity_id", "domain"',
        params,
    )


def fetch(ts: TimeSeries, entities: Sequence[Entity], start: datetime, end: datetime,
          database: str) -> Fetched:  # fmt: skip
    """The group's points in [start, end), unparsed, with the database's field types."""
    fields, tags = _types(ts, database)
    query, params = _query(entities)
    return Fetched(csv_fetch(ts, database, query, {**params, "start": start, "end": end}),
                   fields, tags)  # fmt: skip


def _time(stamp: str) -> datetime:
    """The time of an epoch-ns cell, as `enrich.influx` gives it (cached: the points
    of many entities share their minutes)."""
    moment = _time_cache.get(stamp)
    if moment is None:
        moment = EPOCH + timedelta(microseconds=int(stamp) // 1000)
        if len(_time_cache) > 200_000:
            _time_cache.clear()
        _time_cache[stamp] = moment
    return moment


def _nanos(stamp: str) -> int:
    """The nanoseconds past the microsecond of an epoch-ns cell (almost always 0)."""
    return 0 if stamp.endswith("000") else int(stamp) % 1000


def _columns(header: list[str], types: dict[str, str], fetched: Fetched) -> list[tuple]:
    """(index, name, converter) of the cells that can matter for a series of a measurement
    with field `types`; converter None for a column no field or tag explains (written
    meanwhile: the entity is read through ha_source) and for another measurement's field
    (its cell must be empty here)."""
    columns = []
    for index, name in enumerate(header[3:], start=3):
        kind = types.get(name)
        if kind is not None:
            columns.append((index, name, CONVERTERS.get(kind)))
        elif name not in fetched.tags:
            columns.append((index, name, None))
        elif name in ("value", "state", *STRING_ATTRIBUTES) or name.endswith("_str"):
            # a tag sample_from_official looks at (`tags_attributes` makes an attribute a tag)
            columns.append((index, name, str))
    return columns


def parse(entities: Sequence[Entity], fetched: Fetched
          ) -> tuple[dict[str, list[Sample]], set[str]]:  # fmt: skip
    """Each entity's samples (in W / kWh / the entity's temperature unit, a weather entity's
    attributes in the units of its newest point; each point by its own units: `Units`), and
    the ids of entities to read through `ha_source`. The runs of an entity in several
    measurements are merged as `ha_source` merges them (`merged_samples`)."""
    by_key = keyed(entities)
    runs: dict[str, list[tuple[int, int, list[Sample]]]] = {e.entity_id: [] for e in entities}
    units = {e.entity_id: Units(e) for e in entities}
    redo: set[str] = set()
    for n, (header, rows) in enumerate(_series_blocks(fetched.data)):
        measurement = rows[0][0]
        entity = entity_of(by_key, measurement, parse_tags(rows[0][1]))
        if entity is None or entity.entity_id in redo:
            continue
        types = fetched.fields.get(measurement, {})
        columns = _columns(header, types, fetched)
        typed = [c for c in columns if c[2] is not None]
        entity_units = units[entity.entity_id]
        samples = None
        if len(typed) == 1 and typed[0][1:] == ("value", float):  # most sensors
            samples = _values_only(rows, typed[0][0], [c[0] for c in columns if c[2] is None],
                                   entity, entity_units.convert(measurement))  # fmt: skip
        if samples is None:
            samples = _rows(rows, columns, types.get("state") == "string", entity,
                            partial(entity_units.official, measurement))  # fmt: skip
        if samples is None:
            redo.add(entity.entity_id)
        else:
            rank = raw_measurements(entity).index(measurement)
            runs[entity.entity_id].append((rank, n, samples))
    found = {
        entity_id: merged_samples([samples for *_, samples in sorted(found_runs)])
        for entity_id, found_runs in runs.items()
        if entity_id not in redo
    }
    return found, redo


def _series_blocks(data: bytes) -> Iterator[tuple[list[str], list[list[str]]]]:
    """The answer's rows in runs of one series (same statement result, measurement, tags)."""
    header: list[str] | None = None
    rows: list[list[str]] = []
    name = tags = ""
    for columns, cells in csv_parse(data):
        if cells[1] != tags or cells[0] != name or columns is not header:
            if rows:
                yield header, rows  # type: ignore[misc]
            header, name, tags, rows = columns, cells[0], cells[1], []
        rows.append(cells)
    if rows:
        yield header, rows  # type: ignore[misc]


def _values_only(rows: list[list[str]], value: int, empty: list[int], entity: Entity,
                 convert: Convert) -> list[Sample] | None:  # fmt: skip
    """The samples of a run of rows whose only field is a float `value` (converted):
    one a row with a value, the last one winning of rows at the same time (as `_rows` gives
    them, faster).
    None, for `_rows` to decide, when a cell that must be empty is not (see _columns) or a
    value is not a finite float."""
    if empty and any(map(any, map(itemgetter(*empty), rows))):
        return None
    try:
        by_time = {cells[2]: float(cells[value]) for cells in rows if cells[value]}
    except ValueError:  # the field took another type since SHOW FIELD KEYS
        return None
    if not all(map(math.isfinite, by_time.values())):
        return None
    if not convert.identity:
        by_time = {stamp: convert(number) for stamp, number in by_time.items()}
    if entity.kind in VALUE_KINDS:  # what `finish` gives them
        return [
            aware_sample(_time(stamp), number, None, {}, _nanos(stamp))
            for stamp, number in by_time.items()
        ]
    kind = entity.kind
    return [
        at_nanos(finish(_time(stamp), number, None, kind, {}), _nanos(stamp))
        for stamp, number in by_time.items()
    ]


def _rows(rows: list[list[str]], columns: list[tuple], has_state: bool, entity: Entity,
          by_units: Callable[[dict], tuple[Convert, Mapping[str, Convert]]]
          ) -> list[Sample] | None:  # fmt: skip
    """The samples of a run of rows, cell by cell (`sample_from_official`, the reading and
    attributes converted by `by_units` of the point's fields: `Units.official`), the last one
    winning of rows at the same time; None when the entity must be read through ha_source."""
    samples: list[Sample] = []
    last_stamp = ""
    for cells in rows:
        values: dict[str, Any] = {}
        for index, name, convert in columns:
            cell = cells[index]
            if cell:
                try:
                    values[name] = convert(cell)
                except (TypeError, ValueError):  # no type, or another one meanwhile
                    return None
        if has_state and "state" not in values:
            return None  # maybe a "" state (a gap): only JSON can tell
        sample = converted(sample_from_official(_time(cells[2]), values, entity.kind),
                           *by_units(values))  # fmt: skip
        if sample is None:
            continue
        sample = at_nanos(sample, _nanos(cells[2]))
        if samples and cells[2] == last_stamp:
            samples[-1] = sample  # the same time again: the last one wins
        else:
            samples.append(sample)
        last_stamp = cells[2]
    return samples


def window_samples(entities: Sequence[Entity], start: datetime, end: datetime, database: str,
                   fetched: Fetched | None = None) -> dict[str, list[Sample]]:  # fmt: skip
    """Every entity's samples in [start, end): parsed from `fetched` (or fetched now) for
    the official ones, through `ha_source` for the rest."""
    ts = get_timeseries()
    batched = []
    if supports_csv(ts):
        skip = outranked(ts, database)
        batched = [e for e in entities if batchable(e, skip)]
    samples: dict[str, list[Sample]] = {}
    if batched:
        if fetched is None:
            fetched = fetch(ts, batched, start, end, database)
        ids = tuple(e.entity_id for e in batched)
        if fetched.parsed is not None and fetched.parsed[0] == ids:
            samples = fetched.parsed[1]
        else:
            samples, _ = parse(batched, fetched)
    for entity in entities:
        if entity.entity_id not in samples:
            samples[entity.entity_id] = list(
                ha_source.read_samples(entity, start, end, carry_in=False, database=database)
            )
    return samples
