"""Between fetches, the points of what GET /api/enrichment/current serves, written each minute.

Carbon intensity and occupancy are fetched every 15 minutes, but what is served changes in
between: the stored forecast slot covering now once the fetched slot is over (WattTime's
5-minute MOER, a UK half hour whose fetch failed), the prediction of the latest event edge not
after now (a meeting from 10:07). Each adapter's `current_readings` turns what it serves into
points at the data's own time (the slot start, the edge; occupancy gives every edge since the
fetch whose moment has come, so one a missed minute skipped is written late), from what the
fetches stored; the beat task `collectors.write_current_forecasts` (every minute) writes them
here, with no API call, so InfluxDB readers (Grafana, Home Assistant's InfluxDB sensor) see
what the API serves. Runs within one slot or after one edge overwrite the same points.

The fetch of a target writes the same times with what the provider says (the 14:15 fetch
writes the 14:15 point the task wrote at 14:15:00 from the forecast), and its point must win:
it replaces the served one whole (collectors.served_store.write_fetched). So the task holds
the target's fetch lock while it checks and writes, and a target is left for the next minute
while its fetch runs (the lock is held by it) or when a fetch ended between reading its answer
and taking the lock; a served point that would land on a point a fetch wrote (another target's
of the same series) is left out.
"""

import logging
from collections.abc import Iterable

from django.conf import settings

from collectors import fetch_lock, served_store
from collectors.pipeline import target_for
from collectors.registry import adapter_for
from enrich.influx import get_timeseries
from enrich.models import ProviderConfig
from enrich.readings import unwritable_tag
from enrich.redis.cache import CachedAnswer, ResponseCache
from enrich.redis.lock import RunLock

logger = logging.getLogger("collectors")


def write_served_points(configs: Iterable[ProviderConfig]) -> dict[str, int]:
    """Write the points each config's adapter serves now that no fetch wrote (one config per
    target). Returns counts: targets, points written, targets left to the next minute."""
    cache = ResponseCache()
    targets = written = deferred = 0
    for config in configs:
        target = target_for(config)
        targets += 1
        answer = cache.last_good(config.source, config.provider, target.key)
        adapter = adapter_for(config.source, config.provider)
        # A tag line protocol cannot carry leaves out its points, as at the fetch (pipeline).
        readings = [
            r for r in adapter.current_readings(config, target, answer) if not unwritable_tag(r)
        ]
        if not readings:
            continue
        lock = fetch_lock.served_lock_for(config.source, config.provider, target.key)
        try:
            if fetching := _fetching(cache, lock, config, target.key, answer):
                logger.info(
                    "write_current_forecasts: %s/%s %s: %s; left to the next minute",
                    config.source,
                    config.provider,
                    target.key,
                    fetching,
                )
                deferred += 1
                continue
            readings, left_out = served_store.beside_fetched(adapter, readings)
            for reading in left_out:
                logger.info(
                    "write_current_forecasts: %s/%s %s: a fetched point is stored at %s %s; "
                    "not written over",
                    config.source,
                    config.provider,
                    target.key,
                    reading.time.isoformat(),
                    reading.tags,
                )
            if readings:
                written += get_timeseries().write(settings.INFLUXDB_DATABASE, readings)
        finally:
            lock.release_quietly()
    return {"targets": targets, "points_written": written, "deferred": deferred}


def _fetching(
    cache: ResponseCache,
    lock: RunLock,
    config: ProviderConfig,
    key: str,
    answer: CachedAnswer | None,
) -> str:
    """Why a fetch of this target may write after us (its point must win), or "" once we hold
    its lock (no fetch writes until we release it)."""
    if not fetch_lock.take(lock):
        return f"{lock.holder() or 'a collect run'} is fetching it"
    latest = cache.last_good(config.source, config.provider, key)
    if (latest and latest.fetched_at) != (answer and answer.fetched_at):
        return "a fetch ended meanwhile"
    return ""
