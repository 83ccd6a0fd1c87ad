"""Electricity Maps hours stored estimated, asked for again once Electricity Maps measured them.

Electricity Maps serves the running hour estimated (`isEstimated: true`) and publishes its
measured value later. The first fetch of each hour (one whose window reaches back over the
hour's start) reads the zone's `carbon_intensity` points stored with `is_estimated` true in
the 24 hours before the running hour (what `carbon-intensity/history` covers); when there is
one, that fetch asks history once (a backfill after an outage asks the same call) and rewrites
each of those hours history gives measured (`isEstimated: false`) with history's own values:
gCO2/kWh, `is_estimated` false, `is_forecast` false and the emission factor basis. The hour's
renewable and fossil-free percentages came from the power breakdown, estimated with the hour,
and its history is not asked: they are left out of the rewritten point (replaced whole), so no
estimated share stands beside `is_estimated` false; `forecast_1h`/`forecast_24h` stay. An hour
history still gives estimated, or not at all, stays as stored, and is looked at again the next
hour while it is within the 24 hours. The running hour is never rewritten from history:
`latest` gives it.

The budget plans it: a fetch reserves its latest calls (and the forecast's) plus one history
call (`most_calls`; given back when not sent), and a budget period holds each fetch's latest
calls plus one history call an hour (`planned`), so a budget's cadence counts them.
"""

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from collectors.base import Replaced, Target, Window
from collectors.carbon import common
from enrich.influx import quote_ident, stored_rows
from enrich.readings import Reading
from enrich.redis.cache import ResponseCache

SPAN = timedelta(hours=24)  # what carbon-intensity/history answers: the last 24 hours
SHARES = frozenset({"renewable_percentage", "fossil_free_percentage"})
ONE_POINT = timedelta(microseconds=1)


def most_calls(latest: int) -> int:
    """The calls a fetch may make: its `latest` ones and one history call."""
    return latest + 1


def planned(latest: int, interval_seconds: float, period: float) -> int:
    """The calls over `period` seconds fetching every `interval_seconds`: each fetch's `latest`
    ones, and a history call on the first fetch of each hour at most."""
    fetches = math.ceil(period / max(interval_seconds, 1))
    return fetches * latest + min(fetches, math.ceil(period / 3600))


def hour_of(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def stored(source: str, provider: str, target: Target, window: Window) -> dict[datetime, dict]:
    """The fields of the target's points stored estimated within SPAN before the running hour,
    by time; {} except on the first fetch of an hour (its window starts in an earlier hour)."""
    end = hour_of(window.now)
    if window.history_skipped or window.start >= end:
        return {}
    region = target.params.get("zone") or _region_served(source, provider, target.key)
    if not region:
        return {}
    query = (
        f'SELECT * FROM {quote_ident(common.MEASUREMENT)} WHERE "provider" = $provider AND '
        '"region" = $region AND time >= $start AND time < $end GROUP BY *'
    )
    params = {"provider": provider, "region": region, "start": end - SPAN, "end": end}
    found: dict[datetime, dict] = {}
    for row in stored_rows(query, params):
        if row.time is not None and row.values.get("is_estimated") is True:
            fields = {k: v for k, v in row.values.items() if v is not None}
            found[row.time] = {**found.get(row.time, {}), **fields}
    return found


def _region_served(source: str, provider: str, key: str) -> str:
    """The zone of a target set by coordinates, as its last answer named it ("" when none)."""
    last = ResponseCache().last_good(source, provider, key)
    value = last.value if last is not None else None
    return str(value.get("region") or "") if isinstance(value, Mapping) else ""


def measured(
    window: Window, at: datetime, fields: Mapping[str, Any], tags: Mapping[str, str]
) -> Reading | None:
    """The point rewriting the stored estimated hour `at` with history's `fields` of it: None
    when history has it estimated too (or `at` is no hour stored estimated)."""
    before = window.again.get(at)
    if before is None or fields.get("is_estimated") is not False:
        return None
    kept = {k: v for k, v in before.items() if k not in SHARES}
    return Reading(common.MEASUREMENT, {**kept, **fields}, at, dict(tags))


def replaced(readings: list[Reading], window: Window) -> tuple[Replaced, ...]:
    """The stored points the rewritten hours replace whole (their shares go)."""
    return tuple(
        Replaced(r.measurement, r.tags, r.time, r.time + ONE_POINT)
        for r in readings
        if r.time in window.again
    )
