"""Read one Home Assistant entity's raw samples from InfluxDB, in either layout.

`read_samples(entity, start, end)` yields `Sample`s in time order for start <= time < end,
preceded (with `carry_in`) by the last sample before `start`, the one in force when the
window opens. `count_samples(entity, start, end)` is the number of samples `read_samples`
yields inside the window, counted by InfluxDB.

Where the points are (the layouts; every measurement an entity's points are in, e.g. `W`
and `kW` for a sensor whose unit changed) and which point wins a shared time:
`retention.entities.sources`. How a point becomes a Sample (gaps included):
`retention.entities.points`. Power is read in W, energy in kWh, a temperature in the
entity's unit and a weather entity's attributes in the units of its newest point, each point
converted by the units it was written under (`retention.entities.units`).

Queries stream in chunks (`enrich.influx`), so a window of millions of points is never
held in memory; the points of several measurements are merged as they stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import Any

from enrich.influx import Row, get_timeseries, quote_ident
from retention.day_ranges import EARLIEST_TIME
from retention.entities.points import INGESTOR_MEASUREMENT
from retention.entities.samples import Sample
from retention.entities.sources import Source, deduplicated, merged_rows, source_of
from retention.models import Entity
from retention.schema import TIER_MEASUREMENT

CHUNK_SIZE = 10000


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


def _from(source: Source) -> str:
    """The FROM list of all the entity's measurements."""
    return ", ".join(quote_ident(m) for m in source.measurements)


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
    source = source_of(entity)
    return _read(source, _database(database), start, end, carry_in)


def _read(
    source: Source, db: str, start: datetime, end: datetime, carry_in: bool
) -> Iterator[Sample]:
    if carry_in:
        before = carried_in_from(source, db, start)
        if before is not None:
            yield before
    yield from _stream(source, db, start, end)


def _rows(source: Source, db: str, condition: str, params: dict[str, Any]) -> Iterator[Row]:
    """The entity's rows matching `condition` in time order, over all its measurements (one
    query each, merged as they stream)."""
    bound = {**source.params, **params}
    with ExitStack() as stack:
        streams = [
            stack.enter_context(
                get_timeseries().query(
                    db,
                    f"SELECT * FROM {quote_ident(measurement)} WHERE {source.where} "
                    f"AND {condition}",
                    params=bound,
                    chunk_size=CHUNK_SIZE,
                )
            )
            for measurement in source.measurements
        ]
        yield from merged_rows(streams)


def _stream(source: Source, db: str, start: datetime, end: datetime) -> Iterator[Sample]:
    rows = _rows(source, db, "time >= $start AND time < $end", {"start": start, "end": end})
    yield from deduplicated(rows, source)


def carried_in_sample(
    entity: Entity, start: datetime, *, database: str | None = None
) -> Sample | None:
    """The sample in force at `start` (the one `read_samples` yields first), None if none."""
    return carried_in_from(source_of(entity), _database(database), start)


def selector(entity: Entity) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    """(measurements, InfluxQL condition without time, its params) of the entity's points."""
    source = source_of(entity)
    return source.measurements, source.where, dict(source.params)


def carried_in_from(source: Source, db: str, start: datetime) -> Sample | None:
    """The sample in force at `start`: the newest point before it (a point without a state
    does not count; of several points at that time the last one wins, as in the window)."""
    query = (
        f"SELECT * FROM {_from(source)} WHERE {source.where} "
        "AND time < $start ORDER BY time DESC LIMIT 2"
    )  # two rows per measurement
    with get_timeseries().query(db, query, params={**source.params, "start": start}) as rows:
        newest = sorted(rows, key=lambda row: row.time_ns, reverse=True)
    return newest_sample(source, db, newest)


def newest_sample(source: Source, db: str, newest: list[Row]) -> Sample | None:
    """The sample of the newest of `newest` (the entity's newest rows before a moment, two per
    measurement at most, newest first); when several share that time, all points at it are
    read in ascending order, like the window, and the last one wins."""
    if not newest:
        return None
    if len(newest) > 1 and newest[0].time_ns == newest[1].time_ns:
        at = {"at": newest[0].time}
        samples = list(deduplicated(_rows(source, db, "time >= $at AND time <= $at", at), source))
        return samples[-1] if samples else None
    return next(deduplicated(newest[:1], source), None)


def count_samples(
    entity: Entity, start: datetime, end: datetime, *, database: str | None = None
) -> int:
    """How many samples `read_samples(entity, start, end, carry_in=False)` yields, counted
    by InfluxDB (COUNT over the state fields; points with the same time in several series
    of the entity -- other tags, or another measurement -- count once, which needs the
    points themselves in that rare case)."""
    _check_window(entity, start, end)
    source = source_of(entity)
    db = _database(database)
    first, second = (quote_ident(f) for f in source.state_fields)
    window = f"WHERE {source.where} AND time >= $start AND time < $end"
    params = {**source.params, "start": start, "end": end}
    ts = get_timeseries()
    with ts.query(
        db,
        f"SELECT COUNT({first}), COUNT({second}) FROM {_from(source)} {window} GROUP BY *",
        params,
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
    table = quote_ident(per_series[0].measurement)
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
    source = source_of(entity)
    query = (
        f"SELECT * FROM {_from(source)} WHERE {source.where} "
        "AND time >= $since AND time < $before ORDER BY time ASC LIMIT 1"
    )  # one row per measurement
    params = {**source.params, "since": EARLIEST_TIME, "before": before}
    with get_timeseries().query(_database(database), query, params=params) as rows:
        firsts = [row.time for row in rows if row.time is not None]
    return min(firsts, default=None)


def unrecorded_measurements(
    entities: Sequence[Entity], *, database: str | None = None
) -> dict[str, dict[str, datetime]]:
    """Entity id -> {measurement: its first point there} for the official-layout entities
    whose newest point is in a measurement their registry entry does not list
    (`raw_measurements`): Home Assistant's InfluxDB integration writes them there since a
    change of its measurement settings (measurement_attr, override_measurement,
    default_measurement, a unit), and discovery has not run since. Reading, counting or
    deleting the entity's points would miss those. (Older points of its tags in another
    measurement are another writer's, beside it: the tiers never touch them.) One index query
    (SHOW TAG VALUES), and a few point queries per entity id found in a measurement not its
    own (the domain tag decides)."""
    db = _database(database)
    by_object: dict[str, list[Entity]] = {}
    for entity in entities:
        if entity.layout == Entity.Layout.OFFICIAL and "." in entity.entity_id:
            by_object.setdefault(entity.object_id, []).append(entity)
    found: dict[str, dict[str, datetime]] = {}
    if not by_object:
        return found
    # Every (measurement, entity_id tag) pair of the index, one series per measurement.
    with get_timeseries().query(db, 'SHOW TAG VALUES WITH KEY = "entity_id"') as pairs:
        places = {(row.measurement, str(row.values.get("value"))) for row in pairs}
    for measurement, object_id in sorted(places):
        if measurement in (INGESTOR_MEASUREMENT, TIER_MEASUREMENT):
            continue
        for entity in by_object.get(object_id, ()):
            source = source_of(entity)
            if measurement in source.measurements:
                continue
            there = _edge(db, (measurement,), source, "DESC")
            known = _edge(db, source.measurements, source, "DESC")
            if there is not None and (known is None or there > known):
                first = _edge(db, (measurement,), source, "ASC") or there
                found.setdefault(entity.entity_id, {})[measurement] = first
    return found


def _edge(db: str, measurements: Sequence[str], source: Source, order: str) -> datetime | None:
    """The time of the entity's first (`order` ASC) or newest (DESC) point in `measurements`."""
    return point_edge(db, measurements, source.where, source.params, order)


def point_edge(
    db: str, measurements: Iterable[str], where: str, params: dict[str, Any], order: str = "DESC"
) -> datetime | None:
    """The time of the first (`order` ASC) or newest (DESC) point matching `where` in
    `measurements`: one query, a point per measurement."""
    tables = ", ".join(quote_ident(m) for m in measurements)
    query = f"SELECT * FROM {tables} WHERE {where} ORDER BY time {order} LIMIT 1"
    with get_timeseries().query(db, query, params=params) as rows:
        times = [row.time for row in rows if row.time is not None]  # one per measurement
    return (max if order == "DESC" else min)(times, default=None)
