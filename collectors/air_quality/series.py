"""One `air_quality` point per location, parameter and hour, whatever its category.

`category` is a tag (the measurement's schema), so a point of an hour written again with
another category (an overall recomputed once a lagging pollutant reported that hour,
an observation AirNow revised across a breakpoint) is a point in another series: the hour
would hold both, and `max("aqi") ... GROUP BY time(1h)` or a count would read the
superseded one too. After a fetch's points are written, the stored points at their times,
location and parameter whose category differs are deleted: the latest answer stands.
"""

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings

from enrich.influx import get_timeseries, stored_rows
from enrich.readings import Reading

ONE_POINT = timedelta(microseconds=1)  # a delete removes start <= time < end


def drop_superseded(provider: str, readings: Sequence[Reading]) -> int:
    """Delete the stored points the readings replace in another category; returns how many."""
    if not readings:
        return 0
    written = {
        (r.time_ns, r.tags.get("location"), r.tags.get("parameter")): (r.tags.get("category"), r)
        for r in readings
    }
    query = (
        'SELECT "aqi" FROM "air_quality" WHERE time >= $start AND time <= $end '
        'AND "provider" = $provider GROUP BY *'
    )
    params = {
        "start": min(r.time for r in readings),
        "end": max(r.time for r in readings),
        "provider": provider,
    }
    timeseries, deleted = get_timeseries(), 0
    for row in list(stored_rows(query, params)):
        tags = {k: str(v) for k, v in row.tags.items() if v not in (None, "")}
        mine = written.get((row.time_ns, tags.get("location"), tags.get("parameter")))
        if mine is None or tags.get("category") == mine[0]:
            continue
        when = mine[1].time
        timeseries.delete(settings.INFLUXDB_DATABASE, when, when + ONE_POINT, "air_quality", tags)
        deleted += 1
    return deleted
