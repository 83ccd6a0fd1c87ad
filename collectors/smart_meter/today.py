"""Each meter device's day total in the served answer, read when asked.

A fetch asks today's total so far only every 15 minutes (Emporia, Sense), so two answers of
three carry no `daily_kwh`, and the answer served over local midnight carries the day that
ended (Home Assistant's too: the last poll before midnight, or a poll after it that found the
energy sensor's state of before it). So the answer GET /api/enrichment/current serves (and
Home Assistant reads) gets, per device, the last `daily_kwh` stored since the start of the
site's day at the moment of the request, as `daily_kwh` with `daily_kwh_time`, the time it was
measured at; a device with none stored today has neither. An ended day's complete total is
stored at its last minute, before today starts, so it is never today's. With InfluxDB out of
reach the answer keeps the totals it carries itself that are of today (by their own time,
`daily_kwh_time` in the answer, not the device's newest)."""

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from collectors import clock
from collectors.base import Target
from collectors.smart_meter.common import MEASUREMENT
from enrich.api import influx_down
from enrich.influx import TimeseriesError, quote_ident, stored_rows
from retention.timeutil import day_start

logger = logging.getLogger(__name__)
FIELD = "daily_kwh"


def stored_today(target: Target, since: datetime, until: datetime) -> dict[str, Any]:
    """{device: the row of its last `daily_kwh` in [since, until]}, a device being its
    `device_gid` where it has one (an Emporia device renamed today: its totals of both names),
    else its name."""
    where = '"provider" = $provider AND time >= $since AND time <= $until'
    params: dict[str, object] = {"provider": target.provider, "since": since, "until": until}
    if target.params.get("site"):
        where += ' AND "site" = $site'
        params["site"] = str(target.params["site"])
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
    """The served entry of a meter's cached `answer` with today's totals (see the module);
    None (served as it is) for no answer or one without devices."""
    value = getattr(answer, "value", None)
    if not isinstance(value, dict) or not isinstance(value.get("devices"), dict):
        return None
    now = clock.utc_now()
    tz = ZoneInfo(zone or "UTC")
    since = day_start(now.astimezone(tz).date(), tz)
    devices = {}
    try:
        stored = stored_today(target, since, now)
    except TimeseriesError as exc:  # the publication says an outage once (influx_down)
        if not influx_down.kept(exc):
            logger.warning("%s: today's stored totals could not be read: %s", target.provider, exc)
        stored = None
    for key, entry in value["devices"].items():
        entry = {k: v for k, v in entry.items() if k not in (FIELD, f"{FIELD}_time")}
        if stored is None:  # what the answer itself measured today
            own = value["devices"][key]
            measured = own.get(f"{FIELD}_time", own["time"])
            if FIELD in own and datetime.fromisoformat(measured) >= since:
                entry |= {FIELD: own[FIELD], f"{FIELD}_time": measured}
        else:
            row = stored.get(str(entry.get("device_gid") or f"name:{key}"))
            if row is not None:
                entry |= {FIELD: row.values[FIELD], f"{FIELD}_time": row.time.isoformat()}
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
