"""One `air_quality` point per location, parameter and hour of a lookup, whatever its category.

Every step below reads and deletes only the points of the fetch's own lookup (the `lookup` tag,
`observations.LOOKUP`): another area of the same name is another lookup's.

`drop_superseded`: `category` is a tag (the measurement's schema), so a point of an hour written again with
another category (an overall recomputed once a lagging pollutant reported that hour,
an observation AirNow revised across a breakpoint) is a point in another series: the hour
would hold both, and `max("aqi") ... GROUP BY time(1h)` or a count would read the
superseded one too. After a fetch's points are written, the stored points at their times,
location and parameter whose category differs are deleted: the latest answer stands.

`correct_overall`: a fetch's overall point is at its latest observation hour, from each
pollutant's latest observation; one that has not reported that hour yet (AirNow publishes
pollutants minutes apart) counts with its hour before. When its observation of that hour
comes with the next fetch, the overall of the hour is written again from the pollutant points
stored for it, so each hour's overall is the maximum over that hour's observations alone. So
is the overall of the hour before the fetch's latest (a pollutant the last answer of it left
out, not withdrawn, counts there), and of another hour than the fetch's whose value the fetch
withdrew (below); with no pollutant point left at that hour, its overall is deleted. First
the points of each pollutant of the fetch stored after its hour go (`later`): AirNow gives
each pollutant's latest observation, so a later point (a row once mis-dated, or of an hour
ahead) is one it no longer gives; the overall of its hour is made again without it.

`replaced`: what a fetch's answer replaces whole. Its overall point (`overall_replaced`), and
the stored point of each value it withdraws (AQI -1 for that pollutant and hour,
`observations.Withdrawal`): written earlier, it would stay in the hour and come back into
its overall when `correct_overall` makes it again. A pollutant merely missing from the answer
keeps its points.

`standing`: what is served once an answer with AQI -1 for every pollutant (no observation
at all) withdrew values: the last good answer while no value of its hours went, else the
value made of the latest pollutant points stored before its hour (a day back at most), as a
fetch of them would make it, or no value (`withdrawn`: the hour that went, and a message).

`overall_replaced`: an overall point is written whole, the stored one of its hour and
lookup, in any area, deleted first (the fetch's FetchResult.replaces, and `correct_overall`): InfluxDB
merges the fields of points of one series and time, so a sub-index of a pollutant the new
overall leaves out (its value withdrawn, AQI -1, or its monitor stopped) would stay in the
hour's point, above its aqi.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from collectors.air_quality import now
from collectors.air_quality import observations as obs
from collectors.air_quality.observations import LOOKUP, MEASUREMENT
from collectors.base import Replaced
from collectors.served_store import ONE_POINT  # a delete removes start <= time < end
from enrich.influx import Row, get_timeseries, quote_ident, stored_rows
from enrich.readings import Reading
from enrich.written import note_written

# How far before the hour served the value served after a withdrawal of it may be from.
STANDING = timedelta(days=1)
# Every step reads the points of the fetch's lookup, in any area: an answer's pollutants may
# come from two, and the next answer may leave one out.
_OF_LOOKUP = f"{quote_ident(LOOKUP)} = $lookup"


def drop_superseded(provider: str, readings: Sequence[Reading]) -> int:
    """Delete the stored points the readings replace in another category; returns how many."""
    if not readings:
        return 0
    written = {_point_key(r.time_ns, r.tags): (r.tags.get("category"), r) for r in readings}
    query = (
        f'SELECT "aqi" FROM {quote_ident(MEASUREMENT)} WHERE time >= $start AND time <= $end '
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
        mine = written.get(_point_key(row.time_ns, tags))
        if mine is None or tags.get("category") == mine[0]:
            continue
        when = mine[1].time
        timeseries.delete(settings.INFLUXDB_DATABASE, when, when + ONE_POINT, MEASUREMENT, tags)
        deleted += 1
    return deleted


def correct_overall(
    provider: str, readings: Sequence[Reading], replaces: Sequence[Replaced] = ()
) -> list[Reading]:
    """The overall points of the hour before the fetch's latest and of the hours before it this
    fetch brought a pollutant for, of the hours of points it no longer gives (`later`, deleted
    first), and of the other hours it withdrew a value of (`replaces`),
    from every pollutant point stored at that hour (written; an overall with none left is
    deleted); [] when none."""
    pollutants = [r for r in readings if r.tags.get("parameter") != "overall"]
    gave_up = [later(r) for r in pollutants]  # deleted: AirNow no longer gives them
    withdrawn = [s for s in replaces if s.tags.get("parameter") != "overall"] + gave_up
    if not pollutants and not withdrawn:
        return []
    lookup = next(x.tags.get(LOOKUP, "") for x in [*pollutants, *withdrawn])
    timeseries, database = get_timeseries(), settings.INFLUXDB_DATABASE
    for span in gave_up:
        timeseries.delete(database, span.start, span.end, span.measurement, span.tags)
    latest = max((r.time for r in pollutants), default=None)  # None: every value withdrawn
    hours = {r.time for r in pollutants if r.time < latest} | {s.start for s in withdrawn}
    if latest is not None:  # the hour before is past now: its observations alone, whatever
        hours.add(latest - obs.LAG)  # the last answer of it left out (a row gone, not -1)
    corrected, gone = [], []
    for hour in sorted(hours - {latest}):  # the latest hour's overall: the fetch's own
        stored, overall_at = _stored_observations(provider, lookup, hour)
        if stored and overall_at:
            corrected.append(obs.to_readings(stored, provider, lookup)[0])
        gone += [_point(hour, provider, "overall", (area, lookup)) for area in overall_at
                 if not stored]  # fmt: skip
    for span in [*map(overall_replaced, corrected), *gone]:
        # whole: InfluxDB would keep a field the new point lacks
        timeseries.delete(database, span.start, span.end, span.measurement, span.tags)
    if corrected:
        timeseries.write(database, corrected)
        note_written(corrected)  # the views' refresh reaches back to the corrected hour
    return corrected


def replaced(overall: Reading, withdrawn: Sequence[obs.Withdrawal]) -> tuple[Replaced, ...]:
    """What a fetch's answer replaces whole (its FetchResult.replaces): the stored overall
    point of its hour, and the stored point of each value it withdraws (AQI -1), in any
    category."""
    tags = overall.tags
    return (overall_replaced(overall), *withdrawn_points(tags["provider"], withdrawn, tags[LOOKUP]))


def later(pollutant: Reading) -> Replaced:
    """The stored points of `pollutant`'s parameter and location in the STANDING after its
    hour's: the answer gives each pollutant's latest observation, so one stored after it (a
    row once mis-dated, or of an hour ahead) is one AirNow no longer gives (deleted by
    `correct_overall`, which makes the overall of that hour again)."""
    tags, start = dict(pollutant.tags), pollutant.time + obs.LAG
    del tags["category"]
    return Replaced(MEASUREMENT, tags, start, start + STANDING)


def withdrawn_points(
    provider: str, withdrawn: Sequence[obs.Withdrawal], lookup: str
) -> tuple[Replaced, ...]:
    """The stored point of each value withdrawn (AQI -1) of the `lookup`, in any category: all
    an answer with no observation replaces."""
    return tuple(_point(w.time, provider, w.parameter, (w.area, lookup)) for w in withdrawn)


def standing(provider: str, value: Any, replaces: Sequence[Replaced]) -> Any:
    """What is served once an answer with no observation withdrew `replaces` (deleted): the
    last good answer's `value` while no value of its hours went; else the latest pollutant
    observations of its lookup stored in the STANDING before its hour, made into the value
    a fetch of them serves (none left: no value, `withdrawn` naming its hour, and a message)."""
    withdrawn = [s for s in replaces if s.tags.get("parameter") != "overall"]
    if not isinstance(value, dict) or not value.get("time"):
        return value
    served_at = datetime.fromisoformat(value["time"])
    if all(s.start < served_at - obs.LAG for s in withdrawn):
        return value  # withdrawn values of hours it does not count
    lookup = withdrawn[0].tags.get(LOOKUP, "")
    found = _latest_stored(provider, lookup, served_at - STANDING, served_at)
    if not found:  # no value, and why (now.current_value; the run's "served instead")
        said = now.nothing_left(value["time"])
        return {"no_data": True, "time": None, "withdrawn": value["time"], "message": said}
    return obs.summary(found) | {k: value[k] for k in ("endpoint",) if k in value}


def overall_replaced(overall: Reading) -> Replaced:
    """The stored overall point of `overall`'s hour and lookup, in any category and area:
    replaced whole, since InfluxDB merges the fields of points of one series and time (a
    sub-index the new overall lacks, its pollutant left out since, would stay beside its aqi),
    and one made with another area (pollutants of two areas, a tie) would stay beside it."""
    tags = {k: overall.tags[k] for k in ("provider", "parameter", LOOKUP)}
    return Replaced(MEASUREMENT, tags, overall.time, overall.time + ONE_POINT)


def _point(hour: datetime, provider: str, parameter: str, where: tuple[str, str]) -> Replaced:
    """The stored point of `parameter` at `hour` at `where` (location, lookup), in any
    category."""
    location, lookup = where
    tags = {"provider": provider, "parameter": parameter, "location": location, LOOKUP: lookup}
    return Replaced(MEASUREMENT, tags, hour, hour + ONE_POINT)


def _point_key(time_ns: int, tags: dict[str, Any]) -> tuple:
    """What tells a point apart but its category: its time, location, parameter and lookup."""
    return (time_ns, tags.get("location"), tags.get("parameter"), tags.get(LOOKUP))


def _stored_observations(
    provider: str, lookup: str, hour: datetime
) -> tuple[list[obs.Observation], list[str]]:
    """The pollutant points of the `lookup` stored at `hour`, and the locations of the overall
    points stored there ([] when none: no fetch wrote that hour's overall, nothing to
    correct)."""
    query = (
        f'SELECT "aqi", "category_number" FROM {quote_ident(MEASUREMENT)} WHERE time >= $hour '
        f'AND time <= $hour AND "provider" = $provider AND {_OF_LOOKUP} GROUP BY *'
    )
    params = {"hour": hour, "provider": provider, "lookup": lookup}
    found, overall = [], []
    for row in stored_rows(query, params):
        if row.tags.get("parameter") == "overall":
            overall.append(row.tags["location"])
        elif (observed := _observation(row, hour)) is not None:
            found.append(observed)
    return found, sorted(set(overall))


def _latest_stored(
    provider: str, lookup: str, since: datetime, until: datetime
) -> list[obs.Observation]:
    """The latest pollutant point of each parameter of the `lookup` stored in since..until."""
    query = (
        f'SELECT "aqi", "category_number" FROM {quote_ident(MEASUREMENT)} WHERE time >= $since '
        f'AND time <= $until AND "provider" = $provider AND "parameter" != \'overall\' '
        f"AND {_OF_LOOKUP} GROUP BY * ORDER BY time DESC LIMIT 1"
    )
    params = {"since": since, "until": until, "provider": provider, "lookup": lookup}
    stored = (_observation(row, row.time) for row in stored_rows(query, params))
    return obs.latest(o for o in stored if o is not None)


def _observation(row: Row, hour: datetime) -> obs.Observation | None:
    """A stored pollutant point at `hour` as an Observation (None: a field missing)."""
    aqi, number, tags = row.values.get("aqi"), row.values.get("category_number"), row.tags
    if aqi is None or number is None:
        return None
    category = tags.get("category", "")
    return obs.Observation(
        tags["parameter"], float(aqi), category, int(number), hour, tags["location"]
    )
