"""The carbon intensity now, computed when asked: from the stored forecast slots.

A fetch (every 15 minutes) caches the slot running then as the headline and stores the whole
forecast (`carbon_intensity_forecast`). Once a later forecast slot has begun, the cached
headline is a finished slot's value: WattTime's 5-minute MOER for 10 of every 15 minutes,
a UK half hour or an Electricity Maps hour whose fetch failed or is late. Then the stored
forecast slot covering the moment of the request is served instead: its gCO2/kWh with
`is_forecast` true, `slot_minutes`, and `forecast_1h`/`forecast_24h` for that moment.
Fields only the fetched slot has (`intensity_index`, the renewable and fossil-free shares,
`is_estimated`, `emission_factor_type`) are left out; WattTime's `moer_percentile`, which has no forecast, is kept
with `moer_percentile_time`, the time of the point it is from. `stale`, `fetched_at` and
`age_seconds` still describe the last fetch. In a gap of the stored forecast or past its
end, the last forecast slot that began after the fetched one (up to carbon_store.LOOK_BACK, 24 h,
ago, as the plans carry a last known value) is served the same way, with `last_known` true and a
`message` saying where it ended: the newest value known, not the older fetched slot again.
With no such slot (free plans, nothing stored, InfluxDB unreadable, the forecast over for
longer) the cached answer is served as it is.

`current_readings` is that served slot as the `carbon_intensity` point the beat task
`collectors.write_current_forecasts` writes every minute (collectors.served_points): at the
slot start, in the series of the stored forecast (its tags), with `is_forecast` true and the
gCO2/kWh and horizons served (common.SERVED_FIELDS). Nothing else: `moer_percentile` is
the fetched point's, and `slot_minutes` the forecast's (a `carbon_intensity` point has none);
with only these fields a served point is told from a fetched one (CarbonAdapter.maybe_served),
which replaces it whole (collectors.served_store). None while the fetched slot runs (the fetch
wrote that point) and for a last known slot (its point was written while it ran).
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from collectors import clock
from collectors.carbon import common
from collectors.pricing.carbon_store import back_to_back, slot_tags, stored_forecast
from enrich.api import influx_down
from enrich.influx import TimeseriesError
from enrich.readings import Reading
from enrich.redis.cache import CachedAnswer

logger = logging.getLogger("collectors")

AHEAD = timedelta(hours=25)  # far enough for forecast_24h
# Fields of the fetched slot alone: not true of a later slot.
SLOT_ONLY = (
    "intensity_index",
    "renewable_percentage",
    "fossil_free_percentage",
    "is_estimated",
    "emission_factor_type",
)


def current_value(provider: str, answer: CachedAnswer | None) -> dict[str, Any] | None:
    """The entry of GET /api/enrichment/current for now, or None: the cached answer holds."""
    value = answer.value if answer is not None else None
    if not isinstance(value, dict) or not value.get("region") or not value.get("time"):
        return None
    now = clock.utc_now()
    fetched_slot = datetime.fromisoformat(value["time"])
    try:
        forecast = stored_forecast(provider, value["region"], now, now + AHEAD)
    except TimeseriesError as exc:
        if not influx_down.kept(exc):
            logger.warning("carbon now: %s: the stored forecast cannot be read: %s", provider, exc)
        return None
    slots = [  # a later slot cuts an earlier one short, as in the plans
        common.Slot(s.start, (s.end - s.start).total_seconds() / 60, {common.GCO2_KWH: s.gco2})
        for s in back_to_back(forecast)
    ]
    slot = next((s for s in slots if s.covers(now)), None)
    ended = None  # in a gap of the forecast or past its end: the last slot begun
    if slot is None:
        slot = ended = next((s for s in reversed(slots) if s.start <= now), None)
    if slot is None or slot.start <= fetched_slot:
        return None
    shown = {k: v for k, v in value.items() if k not in SLOT_ONLY and k not in common.HORIZONS}
    if "moer_percentile" in shown:
        shown["moer_percentile_time"] = value["time"]
    shown |= {
        common.GCO2_KWH: slot.values[common.GCO2_KWH],
        common.IS_FORECAST: True,
        "slot_minutes": slot.minutes,
        **common.horizon_fields(slots, now),
        "time": slot.start.isoformat(),
    }
    served = {
        "value": shown,
        "time": shown["time"],
        "fetched_at": answer.fetched_at.isoformat(),
        "stale": answer.stale,
        "age_seconds": round(answer.age_seconds),
    }
    if ended is not None:
        shown["last_known"] = True
        end = ended.start + timedelta(minutes=ended.minutes)
        served["message"] = (
            f"no stored forecast slot covers now ({now.isoformat(timespec='seconds')}); the "
            f"last one known, which ended at {end.isoformat()}, is shown"
        )
    return served


def current_readings(provider: str, answer: CachedAnswer | None) -> list[Reading]:
    """The `carbon_intensity` point of the forecast slot served now (see the module
    docstring); [] when the fetched value is served."""
    served = current_value(provider, answer)
    if served is None or served["value"].get("last_known"):  # a slot over: its point stands
        return []
    value = served["value"]
    start = datetime.fromisoformat(value["time"])
    series = slot_tags(provider, value["region"], start)
    if len(series) != 1:  # no series (deleted meanwhile) or several: whose point is unknown
        logger.warning(
            "carbon now: %s/%s: %d stored forecast series have the slot at %s; nothing written",
            provider,
            value["region"],
            len(series),
            value["time"],
        )
        return []
    fields = {name: value[name] for name in common.SERVED_FIELDS if name in value}
    return [Reading(common.MEASUREMENT, fields, start, series[0])]
