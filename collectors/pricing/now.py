"""The price now, computed when asked: from the stored slots, for the moment of the request.

The hourly fetch stores every published slot (`electricity_pricing_forecast`); what is true
"now" changes at every slot edge (15, 30 or 60 minutes), so it is never taken from the fetch's
cached answer:

- `current_value`: the `electricity_pricing` entry of `GET /api/enrichment/current`. `stale` is
  true when the stored slots give no price now (none covers now, they cannot be read, or they
  are in several currencies); then the last fetched answer is shown as it was,
  except its window lists where they are for another `window_hours` than the config's (the
  fetch, once per tariff, computed them for the config it ran under).
- `write_current_points`: the beat task `collectors.write_current_prices` (every minute) writes
  the `electricity_pricing` point of the running slot from the stored slots, with no API call,
  so InfluxDB readers (Grafana, Home Assistant's InfluxDB sensor) see the price change at the
  slot edge. One read and one write per (provider, region), a point for each `window_hours`
  the configs sharing it ask for (tag `window_hours`: the fetch, once per tariff, computes
  only its own config's); the point's time is the slot start, so the runs within one slot
  overwrite the same point.
"""

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings

from collectors import clock, sharing
from collectors.base import Target
from collectors.pipeline import target_for
from collectors.pricing.adapter import window_hours
from collectors.pricing.slots import PriceSlot, current_slot, headline, headline_reading
from collectors.pricing.store import AHEAD, LOOK_BACK, stored_slots
from collectors.registry import adapter_for
from enrich.api.influx_down import unreadable
from enrich.influx import TimeseriesError, get_timeseries
from enrich.models import ProviderConfig, zone_or_utc
from enrich.redis.cache import CachedAnswer

logger = logging.getLogger("collectors")

SOURCE = "electricity_pricing"


def summary(
    slots: list[PriceSlot], now: datetime, hours: float, currency: str, region: str
) -> dict[str, Any] | None:
    """The headline for `now` with its units, as the REST API shows it; None when no slot
    covers now."""
    found = headline(slots, now, hours)
    if found is None:
        return None
    return {
        **found,
        "currency": currency,
        "region": region,
        "unit": f"{currency}/kWh",
        "slots_known_until": slots[-1].end.isoformat(),
        "now": now.isoformat(),
    }


def _hours(target: Target) -> float:
    return float(target.params["window_hours"])


def current_value(
    config: ProviderConfig, target: Target, answer: CachedAnswer | None
) -> dict[str, Any]:
    """`value`, `time`, `stale`, `fetched_at` and `age_seconds` (of the last fetch) for
    /api/enrichment/current, computed for this moment from the stored slots."""
    now = clock.utc_now()
    fetched = {
        "fetched_at": answer.fetched_at.isoformat() if answer else None,
        "age_seconds": round(answer.age_seconds) if answer else None,
    }
    try:
        by_currency = stored_slots(config.provider, target.key, now - LOOK_BACK, now + AHEAD)
    except TimeseriesError as exc:
        message = unreadable("the stored prices", exc).rstrip(".")
        return _last_fetched(answer, fetched, message, _hours(target))
    if len(by_currency) > 1:
        return _last_fetched(
            answer,
            fetched,
            f"prices in several currencies ({', '.join(sorted(by_currency))}) are stored for "
            f"{config.provider}/{target.key}; delete the wrong ones",
            _hours(target),
        )
    for currency, slots in by_currency.items():
        value = summary(slots, now, _hours(target), currency, target.key)
        if value is not None:
            value.update(adapter_for(config.source, config.provider).basis())
            found = {"value": value, "time": value["time"], **fetched, "stale": False}
            if value["windows_unknown"]:  # the status page shows an entry's message
                found["message"] = value["windows_unknown"]
            return found
    # Now on the home's clock, with its offset: what a person there reads as now.
    local = now.astimezone(zone_or_utc(config.site.timezone))
    return _last_fetched(
        answer,
        fetched,
        f"no stored price slot covers now ({local.isoformat(timespec='seconds')}); check that "
        "the price collector runs (see its last run)",
        _hours(target),
    )


def _last_fetched(
    answer: CachedAnswer | None, fetched: dict[str, Any], message: str, hours: float
) -> dict[str, Any]:
    """The last fetched answer as it was, stale, saying why nothing current is known; without
    its window lists where they name windows of other than `hours` (see `_own_windows`)."""
    if answer is None:
        return {"value": None, "message": f"{message}; no answer yet", "stale": True, **fetched}
    value, time = answer.value, None
    message = f"{message}; the last fetched answer is shown"
    if isinstance(value, dict):
        time = value.get("time")
        value, other = _own_windows(value, hours)
        if other:
            message += f" ({other})"
    return {"value": value, "time": time, **fetched, "stale": True, "message": message}


def _own_windows(value: dict[str, Any], hours: float) -> tuple[dict[str, Any], str]:
    """The answer without cheapest_hours and most_expensive_hours when they are not of
    `hours` (a site sharing the tariff asked for other windows, or an answer from before
    `window_hours` was recorded in it), and why; else as it is."""
    lists = ("cheapest_hours", "most_expensive_hours")
    found = value.get("window_hours")
    if not any(key in value for key in lists) or found == hours:
        return value, ""
    kept = {key: item for key, item in value.items() if key not in lists}
    named = "of a length not recorded" if found is None else f"for {found:g} h"
    return kept, (
        f"the last fetched answer's cheapest_hours and most_expensive_hours are {named}, not "
        f"this config's window_hours {hours:g}, and are left out"
    )


def window_hours_by_target() -> dict[tuple[str, str], set[float]]:
    """The `window_hours` of every collectable price config, by (provider, target key)."""
    ids: dict[tuple[str, str], list[int]] = {}
    for config_id, provider, key in sharing.keyed_rows(SOURCE):
        if isinstance(key, str):  # a config that cannot be collected has no target
            ids.setdefault((provider, key), []).append(config_id)
    rows = ProviderConfig.objects.filter(pk__in=[i for group in ids.values() for i in group])
    asked = {
        config_id: window_hours(found or {})
        for config_id, found in rows.values_list("id", "options")
    }
    return {target: {asked[i] for i in group} for target, group in ids.items()}


def write_current_points(
    configs: Iterable[ProviderConfig], now: datetime | None = None
) -> dict[str, int]:
    """Write the `electricity_pricing` points of the running slot for each config's target (one
    config per target), from the stored slots: one for each `window_hours` asked by the
    configs sharing it. Returns counts: targets, points written."""
    now = now or clock.utc_now()
    targets = written = 0
    asked = window_hours_by_target()
    for config in configs:
        target = target_for(config)
        targets += 1
        tags = {"provider": config.provider, "region": target.key}
        found = stored_slots(config.provider, target.key, now - LOOK_BACK, now + AHEAD)
        hours = sorted({_hours(target), *asked.get((config.provider, target.key), ())})
        readings = []
        for currency, slots in found.items():
            if current_slot(slots, now) is None:
                logger.warning(
                    "write_current_prices: %s/%s: no stored %s slot covers %s; nothing written",
                    config.provider,
                    target.key,
                    currency,
                    now.isoformat(),
                )
                continue
            for length in hours:
                value = headline(slots, now, length)
                readings.append(headline_reading(value, {**tags, "currency": currency}))
        if readings:
            written += get_timeseries().write(settings.INFLUXDB_DATABASE, readings)
    return {"targets": targets, "points_written": written}
