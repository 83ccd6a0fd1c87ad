"""Read one Home Assistant entity's raw samples from InfluxDB, in either layout.

`read_samples(entity, start, end)` yields `Sample`s in time order for start <= time < end,
preceded (with `carry_in`) by the last sample before `start`, the one in force when the
window opens. `count_samples(entity, start, end)` is the number of samples `read_samples`
yields inside the window, counted by InfluxDB.

Layouts (reference/ha_influx_schema.md):

- official (HA's InfluxDB integration): measurement `entity.measurement`, tags `domain` and
  `entity_id` = the object id; field `value` (numeric state, and 1/0 for on/off-like states),
  `state` (string state), attributes as fields (numeric, or `<name>_str`);
- ingestor (HA Ingestor): measurement `home_assistant_events`, tag `entity_id` = the full id;
  field `state_value` (the state as a string) and `attributes` (JSON). The older writer of the
  same project stored `state` and one `attr_<name>` field per attribute instead. Events whose
  `event_type` tag is set to anything but `state_changed` are not states and are ignored.

Every point becomes one Sample, the same for both layouts (the rules of HA's InfluxDB writer):
- a state that parses as a finite number: `value` = the number, `state` = None;
- a state Home Assistant maps to a number (on/open/home/locked/above_horizon -> 1,
  off/closed/not_home/unlocked/below_horizon -> 0): both `value` and `state`;
- any other state: `state` only. For binary entities we also map true/false, yes/no and
  detected/clear (translated states some writers store) to 1/0;
- binary entities always get both: a value without a state gives "on" (value != 0) or "off";
  text and weather entities always get a state: a numeric state is given back as its
  shortest text ("3", "2.5"), the same from both layouts;
- `attributes`: the numeric attributes (not value/state, not `*_str` strings; a numeric
  `<name>` that HA derived from the digits at the end of a `<name>_str` string is dropped).
  In the ingestor layout an attribute counts when HA's writer would have written it as a
  number: numbers, booleans (1/0) and strings that parse as finite numbers.

Gaps (the convention the aggregator relies on): the states `unknown`, `unavailable` and ""
mean "Home Assistant had no value from here". They are not skipped: they yield a gap Sample,
`Sample(time, value=None, state=None, attributes={})`. The value in force before it stops at
the gap's time; the time from the gap to the next real sample is not covered (it adds nothing
to coverage_seconds, to time-weighted means, on_seconds or energy). The official integration
never writes these states, so there a value simply holds until the next sample; the ingestor
layout records them. A carried-in gap means nothing was known when the window opened.

Duplicate timestamps: InfluxDB keeps one point per series and time, but one entity can have
several series (ingestor events differing in other tags such as `area`; official points
whose static tags changed). Points of one entity with the same time are one sample: the last
one InfluxDB returns wins.

Queries stream in chunks (`enrich.influx`), so a window of millions of points is never
held in memory.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from enrich.influx import Row, get_timeseries, quote_ident
from retention.day_ranges import EARLIEST_TIME
from retention.entities.samples import Sample
from retention.models import Entity

logger = logging.getLogger(__name__)

INGESTOR_MEASUREMENT = "home_assistant_events"
GAP_STATES = frozenset({"unknown", "unavailable", ""})
# homeassistant.helpers.state.state_as_number ("unknown" is a gap here, not 0).
HA_STATE_NUMBERS = {
    "on": 1.0,
    "open": 1.0,
    "home": 1.0,
    "locked": 1.0,
    "above_horizon": 1.0,
    "off": 0.0,
    "closed": 0.0,
    "not_home": 0.0,
    "unlocked": 0.0,
    "below_horizon": 0.0,
}
BINARY_STATE_NUMBERS = {
    **HA_STATE_NUMBERS,
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "detected": 1.0,
    "clear": 0.0,
}
CHUNK_SIZE = 10000


# --- From a state string or a point's fields to a Sample ------------------------------------
def as_number(raw: Any) -> float | None:
    """The finite float HA's writer would store for `raw` (float(raw)), else None."""
    if isinstance(raw, str):
        if "_" in raw:  # float() accepts "1_000"; HA states never mean that
            return None
    elif not isinstance(raw, int | float):  # bool is an int: float(True) == 1.0, like HA
        return None
    try:
        number = float(raw)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _finish(
    time: datetime, value: float | None, state: str | None, kind: str, attributes: dict
) -> Sample:
    """Apply the per-kind completions (see the module docstring)."""
    if value is None and state is not None:
        table = BINARY_STATE_NUMBERS if kind == Entity.Kind.BINARY else HA_STATE_NUMBERS
        value = table.get(state.lower())
    if state is None and value is not None:
        if kind == Entity.Kind.BINARY:
            state = "on" if value else "off"
        elif kind in (Entity.Kind.TEXT, Entity.Kind.WEATHER):
            state = _text(value)
    return Sample(time, value, state, attributes)


def sample_from_state(
    time: datetime, raw: str, kind: str, attributes: dict[str, float] | None = None
) -> Sample:
    """A Sample from a state string (ingestor layout): HA's writer rules, gaps for
    unknown/unavailable/""."""
    if raw in GAP_STATES:
        return Sample(time)
    number = as_number(raw)
    if number is not None:
        return _finish(time, number, None, kind, attributes or {})
    return _finish(time, None, raw, kind, attributes or {})


def sample_from_official(time: datetime, fields: Mapping[str, Any], kind: str) -> Sample | None:
    """A Sample from an official-layout point's columns; None when it holds no state."""
    value, state = fields.get("value"), fields.get("state")
    if value is None and state is None:
        return None
    if state is not None:
        state = str(state)
        if state in GAP_STATES:
            return Sample(time)
    number = as_number(value) if value is not None else None
    attributes = {}
    for key, raw in fields.items():
        if key in ("value", "state") or isinstance(raw, str | bool) or raw is None:
            continue  # tags and *_str attributes are strings
        if fields.get(f"{key}_str") is not None:
            continue  # HA's number from the digits at the end of a string attribute
        if (number_attr := as_number(raw)) is not None:
            attributes[key] = number_attr
    return _finish(time, number, state, kind, attributes)


def ingestor_raw_attributes(fields: Mapping[str, Any]) -> tuple[dict | None, dict[str, Any]]:
    """An ingestor point's attributes as written: the `attributes` JSON object (None when it is
    not JSON) and the old writer's `attr_<name>` fields, by name."""
    old = {key[5:]: value for key, value in fields.items() if key.startswith("attr_")}
    try:
        parsed = json.loads(fields["attributes"]) if fields.get("attributes") else {}
    except ValueError:
        return None, old
    return (parsed if isinstance(parsed, dict) else {}), old


def ingestor_attributes(fields: Mapping[str, Any]) -> dict[str, float] | None:
    """Numeric attributes of an ingestor point (an `attr_<name>` field wins over a JSON one of
    the same name). None when the JSON cannot be read."""
    parsed, old = ingestor_raw_attributes(fields)
    if parsed is None:
        return None
    pairs = (*parsed.items(), *old.items())
    return {key: number for key, value in pairs if (number := as_number(value)) is not None}


# --- Where an entity's points are ------------------------------------------------------------
@dataclass(frozen=True)
class _Source:
    entity: Entity
    measurement: str
    where: str  # InfluxQL condition selecting the entity's points (without time)
    params: dict[str, Any]
    state_fields: tuple[str, str]  # every sample has at least one of these fields

    def sample(self, row: Row, warned: list[bool]) -> Sample | None:
        kind = self.entity.kind
        if self.entity.layout == Entity.Layout.OFFICIAL:
            return sample_from_official(row.time, row.values, kind)
        raw = row.values.get("state_value")
        if raw is None:
            raw = row.values.get("state")
        if raw is None:
            return None
        attributes = ingestor_attributes(row.values)
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
        return sample_from_state(row.time, str(raw), kind, attributes)


def _source(entity: Entity) -> _Source:
    if entity.layout == Entity.Layout.OFFICIAL:
        if "." not in entity.entity_id:
            raise ValueError(
                f"entity id {entity.entity_id!r} is not of the form domain.object_id; fix it "
                "in the admin or rerun discovery (manage.py discover_entities)."
            )
        return _Source(
            entity,
            entity.measurement,
            '"entity_id" = $object_id AND "domain" = $domain',
            {"object_id": entity.object_id, "domain": entity.domain},
            ("value", "state"),
        )
    if entity.layout == Entity.Layout.INGESTOR:
        return _Source(
            entity,
            entity.measurement or INGESTOR_MEASUREMENT,
            # Other event types are not states; a missing tag compares equal to ''.
            '"entity_id" = $entity_id AND ("event_type" = \'state_changed\' OR '
            "\"event_type\" = '')",
            {"entity_id": entity.entity_id},
            ("state_value", "state"),
        )
    raise ValueError(
        f"{entity.entity_id}: layout {entity.layout!r} is unknown; set it to 'official' or "
        "'ingestor' in the admin or rerun discovery."
    )


def _database(database: str | None) -> str:
    if database:
        return database
    from django.conf import settings

    return settings.HA_INFLUXDB_DATABASE


def _check_window(entity: Entity, start: datetime, end: datetime) -> None:
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None:
            raise ValueError(f"{entity.entity_id}: {name} {moment!r} needs a timezone (UTC)")
    if end <= start:
        raise ValueError(f"{entity.entity_id}: empty window, end {end} is not after {start}")


def _deduplicated(rows: Iterator[Row], source: _Source) -> Iterator[Sample]:
    """Samples of time-ordered rows; of rows with the same time the last one wins."""
    warned = [False]
    pending: Sample | None = None
    pending_ns: int | None = None
    for row in rows:
        sample = source.sample(row, warned)
        if sample is None:
            continue
        if pending is not None and row.time_ns != pending_ns:
            yield pending
        pending, pending_ns = sample, row.time_ns
    if pending is not None:
        yield pending


# --- Public interface ----------------------------------------------------------------------
def read_samples(
    entity: Entity,
    start: datetime,
    end: datetime,
    *,
    carry_in: bool = True,
    database: str | None = None,
) -> Iterator[Sample]:
    """The entity's samples with start <= time < end in time order, streamed; with
    `carry_in`, first the last sample before `start` when there is one. A bad window or
    entity raises ValueError here, before anything is read."""
    _check_window(entity, start, end)
    source = _source(entity)
    return _read(source, _database(database), start, end, carry_in)


def _read(
    source: _Source, db: str, start: datetime, end: datetime, carry_in: bool
) -> Iterator[Sample]:
    if carry_in:
        before = _carried_in(source, db, start)
        if before is not None:
            yield before
    yield from _stream(source, db, start, end)


def _stream(source: _Source, db: str, start: datetime, end: datetime) -> Iterator[Sample]:
    query = (
        f"SELECT * FROM {quote_ident(source.measurement)} WHERE {source.where} "
        "AND time >= $start AND time < $end"
    )
    params = {**source.params, "start": start, "end": end}
    with get_timeseries().query(db, query, params=params, chunk_size=CHUNK_SIZE) as rows:
        yield from _deduplicated(rows, source)


def carried_in_sample(
    entity: Entity, start: datetime, *, database: str | None = None
) -> Sample | None:
    """The sample in force at `start` (the one `read_samples` yields first), None if none."""
    return _carried_in(_source(entity), _database(database), start)


def selector(entity: Entity) -> tuple[str, str, dict[str, Any]]:
    """(measurement, InfluxQL condition without time, its params) of the entity's points."""
    source = _source(entity)
    return source.measurement, source.where, dict(source.params)


def _carried_in(source: _Source, db: str, start: datetime) -> Sample | None:
    # The sample in force at `start`: the newest point before it (a point without a state
    # does not count; of several points at that time the last one wins, as in the window).
    ts = get_timeseries()
    query = (
        f"SELECT * FROM {quote_ident(source.measurement)} WHERE {source.where} "
        "AND time < $start ORDER BY time DESC LIMIT 2"
    )
    with ts.query(db, query, params={**source.params, "start": start}) as rows:
        newest = list(rows)
    if not newest:
        return None
    if len(newest) == 2 and newest[0].time_ns == newest[1].time_ns:
        # Several points at that time: read them in ascending order, like the window.
        tie = newest[0].time
        query = (
            f"SELECT * FROM {quote_ident(source.measurement)} WHERE {source.where} "
            "AND time >= $at AND time <= $at"
        )
        with ts.query(db, query, params={**source.params, "at": tie}) as rows:
            samples = list(_deduplicated(rows, source))
        return samples[-1] if samples else None
    return next(_deduplicated(iter(newest[:1]), source), None)


def count_samples(
    entity: Entity, start: datetime, end: datetime, *, database: str | None = None
) -> int:
    """How many samples `read_samples(entity, start, end, carry_in=False)` yields, counted
    by InfluxDB (COUNT over the state fields; points with the same time in several series
    of the entity count once, which needs the points themselves in that rare case)."""
    _check_window(entity, start, end)
    source = _source(entity)
    db = _database(database)
    first, second = (quote_ident(f) for f in source.state_fields)
    table = quote_ident(source.measurement)
    window = f"WHERE {source.where} AND time >= $start AND time < $end"
    params = {**source.params, "start": start, "end": end}
    ts = get_timeseries()
    with ts.query(
        db, f"SELECT COUNT({first}), COUNT({second}) FROM {table} {window} GROUP BY *", params
    ) as rows:
        per_series = list(rows)
    if not per_series:
        return 0
    if len(per_series) > 1:
        # Points of different series may share a time and are then one sample.
        return sum(1 for _ in _stream(source, db, start, end))
    counts = per_series[0].values
    with_first, with_second = int(counts.get("count") or 0), int(counts.get("count_1") or 0)
    if not (with_first and with_second):
        return with_first + with_second
    # A point can have both fields (official: on/off states have value and state).
    both_query = f"SELECT COUNT({first}) FROM {table} {window} AND {second} =~ /./"
    with ts.query(db, both_query, params) as rows:
        both = next(rows, None)
    return with_first + with_second - (int(both.values["count"]) if both else 0)


def first_sample_time(
    entity: Entity, before: datetime, *, database: str | None = None
) -> datetime | None:
    """The entity's oldest point time in [2000, `before`) (a gap too; earlier is a clock not yet
    set, e.g. a Raspberry Pi before NTP), or None: one query, for where raw data starts."""
    if before.tzinfo is None:
        raise ValueError(f"{entity.entity_id}: before {before!r} needs a timezone (UTC)")
    source = _source(entity)
    query = (
        f"SELECT * FROM {quote_ident(source.measurement)} WHERE {source.where} "
        "AND time >= $since AND time < $before ORDER BY time ASC LIMIT 1"
    )
    params = {**source.params, "since": EARLIEST_TIME, "before": before}
    with get_timeseries().query(_database(database), query, params=params) as rows:
        first = next(rows, None)
    return None if first is None else first.time
