"""Served points and fetched points at one series and time in InfluxDB.

The minute task `collectors.write_current_forecasts` writes what GET /api/enrichment/current
serves between fetches as points at the data's own time (collectors.served_points); a fetch
may later write the same series and time with what the provider says. InfluxDB merges the
fields of points with one series and time, so a field the fetch does not write would stay
from the served point: a `forecast_1h` the fetch had no forecast for, the forecast's gCO2/kWh
and `is_forecast` true next to WattTime's index alone, a person's `next_arrival_time` after
the away event was deleted. So:

- `write_fetched` (the pipeline's write): a stored point at the series and time of a fetched
  one that may be a served one (`Adapter.maybe_served`) and has a field the fetched one does
  not write is deleted first; then the fetch's points are written. A point a fetch wrote is
  never deleted there: a later fetch writing its time with fewer fields (WattTime's historical
  value at a fetched 5 minutes) leaves the others (`moer_percentile`) as they are. An answer
  that says everything about a span (FetchResult.replaces: a calendar prediction, from its
  slot's start on; an hour's value AirNow withdrew) has every stored point of that span
  deleted first, so what an earlier answer's points said there (an event deleted since) does
  not stay; an answer with no readings that withdraws stored points has them deleted too
  (`withdraw`), and the last good answer served only as far as it stands. The earliest time
  written per measurement is noted (`enrich.written`): a backfill's old points are then folded
  into the materialized views by their next refresh.
- `beside_fetched` (the minute task's, holding the target's fetch lock): the served points
  that would land on a point a fetch wrote are left out (another target's fetch of the same
  series: a region set by id at one site and found from coordinates at another).

One query per call reads the stored points (of the readings' measurement and common tags,
between their first and last time); a delete is one statement per point (per span).
"""

from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta

from django.conf import settings

from collectors.base import Adapter, FetchResult, Replaced, Target
from enrich.influx import get_timeseries, quote_ident, stored_rows
from enrich.readings import Reading
from enrich.redis.cache import ResponseCache
from enrich.written import note_written

# A delete removes start <= time < end: one point's time, to the microsecond Reading keeps.
ONE_POINT = timedelta(microseconds=1)


def write_fetched(
    adapter: Adapter, readings: Sequence[Reading], replaces: Sequence[Replaced] = ()
) -> int:
    """Write a fetch's points, after deleting the served ones they would not wholly replace
    (see the module docstring) and every point of the spans the answer `replaces`
    (FetchResult.replaces); returns the points written."""
    timeseries, database = get_timeseries(), settings.INFLUXDB_DATABASE
    for span in replaces:
        timeseries.delete(database, span.start, span.end, span.measurement, _present(span.tags))
    for reading, fields in _stored(adapter, readings):
        if adapter.maybe_served(fields) and fields.keys() - reading.fields.keys():
            end = reading.time + ONE_POINT
            timeseries.delete(database, reading.time, end, reading.measurement, _tags(reading))
    written = timeseries.write(database, readings)
    note_written(readings)  # once written: the views' refresh reaches back to a backfill
    return written


def withdraw(
    adapter: Adapter, cache: ResponseCache, source: str, target: Target, result: FetchResult
) -> None:
    """An answer with no readings that withdraws stored points (its `replaces`, e.g. AirNow's
    AQI -1 for every pollutant of an hour it had values of): they are deleted, the adapter's
    after-write work runs (an hour's overall made again), and the last good answer is served
    only as far as it stands (Adapter.still_served: the value of an earlier hour, or nothing)."""
    write_fetched(adapter, [], result.replaces)
    adapter.after_write(target, result)
    last = cache.last_good(source, adapter.provider, target.key)
    if last is None:
        return
    value = adapter.still_served(target, result, last.value)
    if value is None:
        cache.forget(source, adapter.provider, target.key)
    elif value != last.value:  # the last good answer's fetch and cache time: stale as it was
        ttl = int(last.ttl_seconds) or None
        cache.put(source, adapter.provider, target.key, value, ttl=ttl, fetched_at=last.fetched_at)


def beside_fetched(
    adapter: Adapter, readings: Sequence[Reading]
) -> tuple[list[Reading], list[Reading]]:
    """(the served points to write, those left out: a point a fetch wrote is stored at their
    series and time)."""
    fetched = {
        id(r) for r, fields in _stored(adapter, readings) if not adapter.maybe_served(fields)
    }
    return (
        [r for r in readings if id(r) not in fetched],
        [r for r in readings if id(r) in fetched],
    )


def _tags(reading: Reading) -> dict[str, str]:
    """The tags a point of `reading` has (line protocol leaves empty ones out)."""
    return _present(reading.tags)


def _present(tags: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in tags.items() if v is not None and str(v) != ""}


def _stored(
    adapter: Adapter, readings: Sequence[Reading]
) -> Iterator[tuple[Reading, dict[str, object]]]:
    """(reading, the fields of the stored point at its series and time) for each reading of
    the adapter's served_measurement that has one."""
    mine = [r for r in readings if r.measurement == adapter.served_measurement]
    if not mine:
        return
    shared = set.intersection(*(set(_tags(r).items()) for r in mine))
    params: dict[str, object] = {"start": min(r.time for r in mine),
                                 "end": max(r.time for r in mine)}  # fmt: skip
    where = ["time >= $start", "time <= $end"]
    for i, (key, value) in enumerate(sorted(shared)):
        where.append(f"{quote_ident(key)} = $tag{i}")
        params[f"tag{i}"] = value
    query = (
        f"SELECT * FROM {quote_ident(mine[0].measurement)} WHERE {' AND '.join(where)} GROUP BY *"
    )
    stored = {
        (frozenset(_present(row.tags).items()), row.time_ns): {
            k: v for k, v in row.values.items() if v is not None
        }
        for row in stored_rows(query, params)
    }
    for reading in mine:
        if fields := stored.get((frozenset(_tags(reading).items()), reading.time_ns)):
            yield reading, fields
