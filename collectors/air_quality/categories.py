"""Remember each location's AQI category in Redis and log when it changes, once per change.

Runs after a fresh answer was written (AirNowAdapter.after_write). The remembered category lives in
Redis without expiry, so it survives restarts and is shared by all workers. One Lua script
reads and replaces it atomically: when two workers see the same change, only the first one
gets the old category back, so the change is logged exactly once. An observation older than
the remembered one (a late worker) changes nothing.
"""

import logging
from datetime import datetime

from collectors.base import FetchResult, Target
from enrich.redis.client import get_redis, make_key, reachable

log = logging.getLogger("collectors.air_quality")

# KEYS[1] = memory; ARGV = category, observation time (epoch s), aqi, location.
# Returns {previous category or nil, "stored" | "older"}.
_REMEMBER = """
local previous = redis.call('HMGET', KEYS[1], 'category', 'time')
if previous[2] and tonumber(previous[2]) > tonumber(ARGV[2]) then
  return {previous[1], 'older'}
end
redis.call('HSET', KEYS[1], 'category', ARGV[1], 'time', ARGV[2], 'aqi', ARGV[3],
           'location', ARGV[4])
return {previous[1], 'stored'}
"""


def memory_key(target: Target) -> str:
    """e.g. ``enrich:aqi_category:airnow:47.60%2C-122.33``."""
    return make_key("aqi_category", target.provider, target.key)


def note_category_change(target: Target, result: FetchResult) -> None:
    """Log the first category seen for a location (INFO) and every change after (WARNING)."""
    current = result.current
    category = current.get("category")
    if current.get("no_data") or not category or not current.get("time"):
        return  # nothing observed: keep remembering the last real category
    location = current.get("location") or target.key
    aqi = current.get("aqi")
    observed = datetime.fromisoformat(current["time"]).timestamp()
    client = get_redis()
    with reachable("The AQI category memory"):
        script = client.register_script(_REMEMBER)
        args = [category, repr(observed), "" if aqi is None else repr(aqi), location]
        previous, outcome = script(keys=[memory_key(target)], args=args)
    shown_aqi = f" (AQI {aqi:g})" if isinstance(aqi, int | float) else ""
    if outcome == "older":
        log.debug("AQI category for %s: an observation older than the remembered one", location)
    elif previous is None:
        log.info("AQI category for %s is %s%s", location, category, shown_aqi)
    elif previous != category:
        log.warning(
            "AQI category changed for %s: %s -> %s%s", location, previous, category, shown_aqi
        )
