"""Electricity Maps hours stored estimated, asked for again once Electricity Maps measured them.

Electricity Maps serves the running hour estimated (`isEstimated: true`) and publishes its
measured value later. The first fetch of each hour (one whose window reaches back over the
hour's start) reads the zone's `carbon_intensity` points stored with `is_estimated` true in
the 24 hours before the running hour (what `carbon-intensity/history` covers); when there is
one, that fetch asks history once (a backfill after an outage asks the same call) and rewrites
each of those hours history gives measured (`isEstimated: false`) with history's own values:
gCO2/kWh, `is_estimated` false, `is_forecast` false and the emission factor basis. The point
is replaced whole: the hour's renewable and fossil-free percentages stored beside it were the
power breakdown's estimate. When an hour is rewritten (only then), the fetch also asks
`power-breakdown/history` once and writes the percentages it gives measured
(`isEstimated: false`) into the rewritten point; an hour that history still estimates, or
leaves out, and every hour when that call fails, is written without them, so no estimated
share stands beside `is_estimated` false. `forecast_1h`/`forecast_24h` stay. An hour
`carbon-intensity/history` still gives estimated, or not at all, stays as stored, and is
looked at again the next hour while it is within the 24 hours. The running hour is never
rewritten from history: `latest` gives it.

The budget plans it: a fetch reserves its latest calls (and the forecast's) plus the two
history calls (`most_calls`; given back when not sent), and a budget period holds each fetch's
latest calls plus two history calls an hour (`planned`), so a budget's cadence counts them.
"""

import logging
import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from collectors.answers import Answer
from collectors.base import Replaced, Target, Window
from collectors.carbon import common
from enrich.http import HttpError, get_json
from enrich.influx import quote_ident, stored_rows
from enrich.readings import Reading
from enrich.redis.cache import ResponseCache

logger = logging.getLogger(__name__)

SPAN = timedelta(hours=24)  # what carbon-intensity/history answers: the last 24 hours
# The power breakdown's two percentages: {field: the API's key}.
SHARE_KEYS = {
    "renewable_percentage": "renewablePercentage",
    "fossil_free_percentage": "fossilFreePercentage",
}
SHARES = frozenset(SHARE_KEYS)
ONE_POINT = timedelta(microseconds=1)
HISTORY_CALLS = 2  # carbon-intensity/history, and power-breakdown/history when it rewrites


def most_calls(latest: int) -> int:
    """The calls a fetch may make: its `latest` ones and the two history calls."""
    return latest + HISTORY_CALLS


def planned(latest: int, interval_seconds: float, period: float) -> int:
    """The calls over `period` seconds fetching every `interval_seconds`: each fetch's `latest`
    ones, and the two history calls on the first fetch of each hour at most."""
    fetches = math.ceil(period / max(interval_seconds, 1))
    return fetches * latest + HISTORY_CALLS * min(fetches, math.ceil(period / 3600))


def shares(answer: Answer, entry: Any, what: str = "the answer") -> dict[str, float]:
    """The renewable and fossil-free percentages of a power breakdown (checked, 0-100); a null
    one is not known and left out, never 0. The per-fuel maps (keys with spaces, nulls) are
    not read."""
    found = {}
    for name, key in SHARE_KEYS.items():
        share = answer.maybe_number(entry, key, what)
        if share is not None:
            found[name] = common.percentage(answer, share, key, entry)
    return found


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


def with_shares(
    provider: str,
    base: str,
    where: Mapping[str, Any],
    headers: Mapping[str, str],
    past: list[Reading],
    window: Window,
) -> list[Reading]:
    """`past` (history's readings) with the measured percentages of its rewritten hours from
    `power-breakdown/history`, asked only when an hour is rewritten. A failing call is logged
    and leaves the percentages out: the carbon rewrite stands."""
    rewritten = {r.time for r in past if r.time in window.again}
    if not rewritten:
        return past
    url = base + "/power-breakdown/history"
    found: dict[datetime, dict[str, float]] = {}
    try:
        body = get_json(provider, url, params=dict(where), headers=dict(headers))
        answer = Answer(provider, url)
        for entry in answer.items(body, "history"):
            at = answer.when(entry, "datetime", "a history entry")
            # An hour the breakdown still estimates keeps no share beside is_estimated false.
            if at in rewritten and answer.flag(entry, "isEstimated", "a history entry") is False:
                found[at] = shares(answer, entry, "a history entry")
    except HttpError as error:
        logger.warning(
            "%s: the power breakdown history failed, the rewritten hours are written without "
            "their percentages: %s: %s",
            provider,
            type(error).__name__,
            error,
        )
        return past
    return [
        replace(r, fields={**r.fields, **found[r.time]}) if r.time in found else r for r in past
    ]
