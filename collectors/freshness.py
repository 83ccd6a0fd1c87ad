"""A collect run's cached answer (collectors.pipeline): whether it spares the run's call, how
long a fetched one stays fresh, and how the last good one served in its place is described."""

from datetime import datetime, timedelta

from collectors.registry import adapter_for
from enrich.redis.cache import CachedAnswer, ResponseCache

# How old an answer giving part of its value of the slot before (`lagging`), or none yet
# (`no_value`), is when a run asks again: less than the 20 min from beat's :35 air quality run
# to its :55 one (a :35 run started late still leaves it), more than two runs of one beat are
# apart (one call serves both).
AGAIN = timedelta(minutes=10)


def describe_last_good(answer: CachedAnswer | None) -> str:
    if answer is None:
        return "nothing (no earlier answer)"
    if isinstance(answer.value, dict) and answer.value.get("no_data"):  # e.g. values withdrawn
        return f"nothing: {answer.value.get('message', 'no value')}"
    return f"last good answer from {answer.fetched_at.isoformat()} ({int(answer.age_seconds)} s old, stale)"


def fresh(cache: ResponseCache, source: str, provider: str, key: str, now: datetime) -> bool:
    """A cached answer spares the call — unless it expires within the next 30 s (a tenth of
    a TTL under 300 s): beat fires each source about one TTL apart (5 min meters, 5 min
    cache), and a run that starts a moment early must fetch, not skip a whole cycle. Nor
    once the slot it gives as current (Adapter.slot) ends by then: an answer fetched between
    two beats (the setup page's collect now at 13:47) would spare the 14:00 run's call, and
    the 14:00 half hour's value would come at 14:15 (AirNow's hour an hour late, never stored).
    Nor once it is AGAIN old while part of its value is of the slot before (`lagging`: an
    AirNow pollutant not published for the hour yet, whose monitor publishes later) or left
    out for having no value yet (`no_value`: its row's AQI null), so a run asks again once,
    and that part's hour is stored when the provider has it then."""
    hit = cache.get(source, provider, key)
    if hit is None:
        return False
    ttl = cache.ttl_for(source)
    early = min(30.0, ttl * 0.1)
    # The TTL it was stored with: shorter for a late run's answer (fresh_for).
    if hit.age_seconds >= min(ttl, hit.ttl_seconds) - early:
        return False
    slot = adapter_for(source, provider).slot
    value = hit.value if isinstance(hit.value, dict) else {}
    if slot is None or not value.get("time"):
        return True
    by = now + timedelta(seconds=early)
    if by >= datetime.fromisoformat(value["time"]) + slot:
        return False
    return not (value.get("lagging") or value.get("no_value")) or by < hit.fetched_at + AGAIN


def fresh_for(ttl: int, now: datetime, dispatched: datetime | None) -> int:
    """How long an answer fetched at `now` for the cycle dispatched at `dispatched` is fresh:
    until that cycle ends (beat dispatches each source one TTL apart). A run a retry or a
    backlog made late must not carry its answer over the next beat, which would then make no
    call and lose its cycle (a minute late at most: a whole cycle without data)."""
    late = (now - dispatched).total_seconds() if dispatched else 0.0
    return ttl - int(late % ttl) if late > 0 else ttl
