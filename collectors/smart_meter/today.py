"""Each meter device's day total in the served answer, read when asked.

A fetch asks today's total so far only every 15 minutes (Emporia, Sense), so two answers of
three carry no `daily_kwh`, and the answer served over the meter's midnight carries the day
that ended (Home Assistant's too: the last poll before midnight, or a poll after it that found
the energy sensor's state of before it). A day is the meter's: the zone the adapter marks each
device with (ZONE: an Emporia device's `locationProperties.timeZone`, else its account's first
Vue's; the Sense account's `time_zone`; Home Assistant's `time_zone`), else the site's. So the
answer GET /api/enrichment/current serves (and Home Assistant reads) gets, per device, the last
`daily_kwh` stored since the start of that zone's day at the moment of the request, as
`daily_kwh` with `daily_kwh_time`, the time it was measured at, `daily_kwh_zone` and
`daily_kwh_date`, the local date it is the total of (a Vue in Chicago on a site in UTC counts
30 April until 05:00 UTC on 1 May); a device with none stored in its day has none of them. An
ended day's complete total is stored at its last minute, before the next day starts, so it is
never the next day's. With InfluxDB out of reach the answer keeps the totals it carries itself
that are of the device's day (by their own time, `daily_kwh_time` in the answer, not the
device's newest)."""

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collectors import clock
from collectors.base import Target
from collectors.smart_meter.common import MEASUREMENT, stored_where
from enrich.api import influx_down
from enrich.influx import TimeseriesError, quote_ident, stored_rows
from retention.timeutil import day_start

logger = logging.getLogger(__name__)
FIELD = "daily_kwh"
ZONE, DATE = f"{FIELD}_zone", f"{FIELD}_date"
SERVED = (FIELD, f"{FIELD}_time", ZONE, DATE)


def known_zone(name: Any) -> str | None:
    """`name` when it is a time zone Python knows, else None."""
    if not isinstance(name, str) or not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def zoned(current: dict[str, Any], zone: Any, by_gid: Mapping[str, Any] = {}) -> dict[str, Any]:
    """A meter's answer (common.current) with the zone whose local day each device's
    `daily_kwh` counts (ZONE): its `device_gid`'s in `by_gid`, else `zone`; a device with no
    zone Python knows gets none (the site's is read when the answer is served)."""
    for entry in current["devices"].values():
        if found := known_zone(by_gid.get(entry.get("device_gid", ""))) or known_zone(zone):
            entry[ZONE] = found
    return current


def stored_today(target: Target, since: datetime, until: datetime) -> dict[str, Any]:
    """{device: the row of its last `daily_kwh` in [since, until]}, a device being its
    `device_gid` where it has one (an Emporia device renamed today: its totals of both names),
    else its name."""
    where, params = stored_where(target, since, until, "<=")
    influxql = (
        f"SELECT last({quote_ident(FIELD)}) AS {quote_ident(FIELD)} FROM "
        f'{quote_ident(MEASUREMENT)} WHERE {where} GROUP BY "device", "device_gid"'
    )
    found: dict[str, Any] = {}
    for row in stored_rows(influxql, params):
        if row.time is None or row.values.get(FIELD) is None:
            continue
        key = row.tags.get("device_gid") or f"name:{row.tags.get('device', '')}"
        if key not in found or row.time > found[key].time:
            found[key] = row
    return found


def with_day_totals(target: Target, answer: Any, zone: str) -> dict | None:
    """The served entry of a meter's cached `answer` with each device's totals of its day (see
    the module; `zone` is the site's); None (served as it is) for no answer or one without
    devices."""
    value = getattr(answer, "value", None)
    if not isinstance(value, dict) or not isinstance(value.get("devices"), dict):
        return None
    now = clock.utc_now()
    site = known_zone(zone) or "UTC"
    zones = {key: known_zone(entry.get(ZONE)) or site for key, entry in value["devices"].items()}
    local = {name: now.astimezone(ZoneInfo(name)).date() for name in set(zones.values())}
    starts = {name: day_start(day, ZoneInfo(name)) for name, day in local.items()}
    devices = {}
    try:
        stored = stored_today(target, min(starts.values(), default=now), now)
    except TimeseriesError as exc:  # the publication says an outage once (influx_down)
        if not influx_down.kept(exc):
            logger.warning("%s: today's stored totals could not be read: %s", target.provider, exc)
        stored = None
    for key, entry in value["devices"].items():
        entry = {k: v for k, v in entry.items() if k not in SERVED}
        found = None  # (kWh, the time it was measured at) of the device's day
        if stored is None:  # what the answer itself measured in the device's day
            own = value["devices"][key]
            measured = own.get(f"{FIELD}_time", own["time"])
            if FIELD in own and datetime.fromisoformat(measured) >= starts[zones[key]]:
                found = own[FIELD], measured
        else:
            row = stored.get(str(entry.get("device_gid") or f"name:{key}"))
            if row is not None and row.time >= starts[zones[key]]:
                found = row.values[FIELD], row.time.isoformat()
        if found is not None:
            day = local[zones[key]].isoformat()
            entry |= dict(zip(SERVED, (*found, zones[key], day), strict=True))
        devices[key] = entry
    return {
        "value": {**value, "devices": devices},
        "time": value.get("time"),
        "fetched_at": answer.fetched_at.isoformat(),
        "stale": answer.stale,
        "age_seconds": round(answer.age_seconds),
    }


class DayTotalsAtRead:
    """A meter adapter's current_at_read: the answer with today's stored day totals."""

    def current_at_read(self, config: Any, target: Target, answer: Any) -> dict | None:
        return with_day_totals(target, answer, config.site.timezone)
