"""A power sensor's raw points for `daily_energy_by_device`, read and summed fast.

The energy view needs, per window (UTC hours, cut at price slot edges and local midnights),
what `retention.tiers.stepwise.aggregate_windows` gives for kind "power": coverage, time-weighted
mean, min, max, integral (kWh) and last reading. Building the view reads every raw point once,
so this is where a large home's first build spends its time. Most of it went to the general
path's per point work (JSON rows, a `Sample` and a datetime per point).

A power sensor qualifies (`plain_power`) when it is of the official layout and each of its
measurements (`raw_measurements`: `W` and `kW` for a sensor whose unit changed) has a
float/integer `value` field and no `state` field: every point is then one number (Home
Assistant writes numbers to `value` and drops unknown/unavailable states), in the unit of its
measurement (a measurement that records units per point, in a `unit_of_measurement_str`
field or a `unit_of_measurement` tag, qualifies while all the entity's points there are in
the unit Home Assistant writes now). Its points are read as CSV (InfluxDB writes CSV about 3x faster than JSON), a
measurement at a time, split at commas and converted by numpy into integer nanoseconds and
floats (numpy parses the text as float() does: the nearest double), converted to W by the
measurement's unit (`retention.entities.units`) and merged in time order. Of points at the
same nanosecond the later is kept, as in the general path (`Sample.instant`); the times are
then floored to microseconds (a `Sample`'s time), so two points within one microsecond stay
two, the earlier holding 0 s, as in the general path and the tiers. `power_windows` sums each
window's run of them with the tiers' own `retention.tiers.stepwise.step_sums`, in the same
order, so the results are equal float for float (tests/retention/rollups/test_view_power.py
compares both paths). A CSV answer carries no error, so the rows read (every point, before
points at one nanosecond are made one) are checked against InfluxDB's COUNT over the same
range; a mismatch raises.
Any other entity takes the general path.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings

from enrich.influx import InfluxQueryError, get_timeseries, quote_ident
from enrich.readings import EPOCH
from retention.entities.ha_source import selector
from retention.entities.samples import Sample
from retention.entities.units import OFFICIAL_UNIT_FIELD, UNIT_ATTRIBUTE, Units
from retention.models import Entity
from retention.tiers.aggregate import WATT_SECONDS_PER_KWH, Aggregate, clamp
from retention.tiers.stepwise import step_sums
from retention.tiers.timeline import reading_of, usable

if TYPE_CHECKING:
    import numpy as np

MICROSECOND = timedelta(microseconds=1)
CHUNK_SIZE = 50000
HEADER = "name,tags,time,value\n"


class IncompleteRead(RuntimeError):
    """The CSV answer had fewer or more rows than InfluxDB counts."""


@dataclass
class PowerPoints:
    times: list[int]  # microseconds since the epoch (floored), ascending
    values: list[float]


def plain_power(entity: Entity) -> bool:
    """Whether the entity's points are plain numbers `read_power` can read exactly."""
    if entity.kind != Entity.Kind.POWER or entity.layout != Entity.Layout.OFFICIAL:
        return False
    if "." not in entity.entity_id:
        return False  # the general path says what is wrong
    measurements, where, params = selector(entity)
    units = Units(entity)
    for measurement in measurements:
        if set(measurement) & set(',"\r\n'):
            return False  # CSV would quote the name: read_power splits lines at commas
        try:
            fields = get_timeseries().field_keys(settings.HA_INFLUXDB_DATABASE, measurement)
            tags = get_timeseries().tag_keys(settings.HA_INFLUXDB_DATABASE, measurement)
        except InfluxQueryError:
            return False  # the general path reports it
        types = set(fields.get("value", "").split(","))
        if "state" in fields or not types or not types <= {"float", "integer"}:
            return False
        # The unit a point records: a field, or a tag (the integration's `tags_attributes`).
        written = [key for key, keys in ((OFFICIAL_UNIT_FIELD, fields), (UNIT_ATTRIBUTE, tags))
                   if key in keys]  # fmt: skip
        if any(_other_units(measurement, key, where, params, units) for key in written):
            return False
    return True


def _other_units(measurement: str, key: str, where: str, params: dict, units: Units) -> bool:
    """Whether a point of the entity in `measurement` records a unit (in the field or tag
    `key`) other than the one Home Assistant writes now (its reading would need its own
    conversion; a point without the tag counts, as it compares equal to '')."""
    if units.now is None:
        return False  # every point is read in the registry's unit
    query = (
        f'SELECT COUNT("value") FROM {quote_ident(measurement)} WHERE {where} '
        f"AND {quote_ident(key)} != $unit"
    )
    bound = {**params, "unit": units.now}
    with get_timeseries().query(settings.HA_INFLUXDB_DATABASE, query, params=bound) as rows:
        return any(int(row.values.get("count") or 0) for row in rows)


def _us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def read_power(entity: Entity, start: datetime, end: datetime) -> PowerPoints:
    """The entity's points with start <= time < end in W (see the module docstring)."""
    import numpy as np  # imported where used: not at every process's start (django.setup)

    measurements, where, params = selector(entity)
    condition = f"WHERE {where} AND time >= $start AND time < $end"
    bound = {**params, "start": start, "end": end}
    units = Units(entity)
    parts = [_read_csv(entity, m, condition, bound) for m in measurements]
    times = np.concatenate([t for t, _ in parts])
    values = np.concatenate([units.convert(m)(v) for m, (_, v) in zip(measurements, parts,
                                                                      strict=True)])  # fmt: skip
    if len(parts) > 1:  # stable: of points sharing a time, the later measurement's last
        order = np.argsort(times, kind="stable")
        times, values = times[order], values[order]
    rows = len(times)
    last = np.ones(rows, dtype=bool)  # of points at the same nanosecond the later wins
    last[:-1] = times[1:] != times[:-1]
    table = ", ".join(quote_ident(m) for m in measurements)
    query = f'SELECT COUNT("value") FROM {table} {condition}'
    with get_timeseries().query(settings.HA_INFLUXDB_DATABASE, query, params=bound) as counted:
        expected = sum(int(row.values.get("count") or 0) for row in counted)
    if rows != expected:
        raise IncompleteRead(
            f"{entity.entity_id}: InfluxDB counts {expected} points in {start.isoformat()}.."
            f"{end.isoformat()} but its CSV answer had {rows}; nothing was computed from it"
        )
    # Floored to microseconds (as influxql.from_ns, a Sample's time): two points within one
    # keep their order and the earlier holds 0 s, as in the general path.
    return PowerPoints((times[last] // 1000).tolist(), values[last].tolist())


def _read_csv(entity: Entity, measurement: str, condition: str, bound: dict
              ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(times in ns, values as written) of the entity's points in one measurement."""
    import numpy as np

    query = f'SELECT "value" FROM {quote_ident(measurement)} {condition}'
    stamps, numbers = [], []
    ts, database = get_timeseries(), settings.HA_INFLUXDB_DATABASE
    for block in ts.query_csv(database, query, bound, CHUNK_SIZE):
        # Lines are "<measurement>,<no tags>,<ns>,<value>" (plain_power made sure the name
        # holds no comma or quote), the header "name,tags,time,value" once at the start.
        block = block.removeprefix(HEADER).replace("\n" + HEADER, "\n")
        fields = block[:-1].replace("\n", ",").split(",") if block else []
        if len(fields) % 4:
            raise ValueError(f"{entity.entity_id}: a CSV line of {measurement!r} is not 4 fields")
        stamps.append(np.array(fields[2::4], dtype=np.int64))
        numbers.append(np.array(fields[3::4], dtype=np.float64))
    times = np.concatenate(stamps) if stamps else np.zeros(0, np.int64)
    values = np.concatenate(numbers) if numbers else np.zeros(0, np.float64)
    if len(times) and bool((times[1:] < times[:-1]).any()):
        raise ValueError(f"{entity.entity_id}: points of {measurement!r} out of time order")
    return times, values


def power_windows(
    head: Sample | Sequence[Sample],
    points: PowerPoints,
    windows: Sequence[tuple[datetime, datetime]],
) -> list[Aggregate | None]:
    """`aggregate_windows("power", head + samples, windows)` for the points, float for float.

    `head` holds the sample in force at the first point (the carried-in one), if any."""
    heads = [head] if isinstance(head, Sample) else list(head)
    times = [_us(sample.time) for sample in heads] + points.times
    values = [reading_of("power", sample) for sample in heads] + points.values
    count = len(times)
    results: list[Aggregate | None] = []
    position = bisect_left(times, _us(windows[0][0])) if windows else 0
    for window_start, window_end in windows:
        start, end = _us(window_start), _us(window_end)
        while position < count and times[position] < start:
            position += 1
        stop = position
        while stop < count and times[stop] < end:
            stop += 1
        # Each sample holds from its time (the one in force at the window start: from the
        # start) until the next sample or the window end.
        first = position - 1 if position else 0
        held_from = times[first:stop]
        if position:
            held_from[0] = start
        held_to = times[first + 1 : stop]
        if held_from:  # else nothing is in force in the window
            held_to.append(end)
        seconds = [(b - a) / 1_000_000 for a, b in zip(held_from, held_to, strict=True)]
        coverage, weighted, low, high = step_sums(zip(values[first:stop], seconds, strict=True))
        inside = stop - position
        if coverage == 0 and inside == 0:
            results.append(None)
            continue
        aggregate = Aggregate(
            window_start.astimezone(UTC),
            window_end.astimezone(UTC),
            "power",
            sample_count=inside,
            coverage_seconds=coverage,
            min_value=low,
            max_value=high,
            last_value=_last_reading(values, stop),
        )
        if coverage > 0:
            aggregate.avg_value = clamp(weighted / coverage, low, high)
            aggregate.total_energy = weighted / WATT_SECONDS_PER_KWH
        results.append(aggregate)
    return results


def _last_reading(values: list[float | None], stop: int) -> float | None:
    for index in range(stop - 1, -1, -1):
        value = values[index]
        if value is not None and usable(value):  # as reading_of: a reading beyond the limit is none
            return value
    return None
