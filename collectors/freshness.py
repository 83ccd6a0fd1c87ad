"""A collect run's cached answer (collectors.pipeline): whether it spares the run's call, how
long a fetched one stays fresh, and how the last good one served in its place is described."""

from datetime import datetime

from enrich.redis.cache import CachedAnswer, ResponseCache


def describe_last_good(answer: CachedAnswer | None) -> str:
    if answer is None:
        return "nothing (no earlier answer)"
    if isinstance(answer.value, dict) and answer.value.get("no_data"):  # e.g. values withdrawn
        return f"nothing: {answer.value.get('message', 'no value')}"
    return f"last good answer from {answer.fetched_at.isoformat()} ({int(answer.age_seconds)} s old, stale)"


def fresh(cache: ResponseCache, source: str, provider: str, key: str) -> bool:
    """A cached answer spares the call — unless it expires within the next 30 s (a tenth of
    a TTL under 300 s): beat fires each source about one TTL apart (5 min meters, 5 min
    cache), and a run that starts a moment early must fetch, not skip a whole cycle."""
    hit = cache.get(source, provider, key)
    if hit is None:
        return False
    ttl = cache.ttl_for(source)
    # The TTL it was stored with: shorter for a late run's answer (fresh_for).
    return hit.age_seconds < min(ttl, hit.ttl_seconds) - min(30.0, ttl * 0.1)


def fresh_for(ttl: int, now: datetime, dispatched: datetime | None) -> int:
    """How long an answer fetched at `now` for the cycle dispatched at `dispatched` is fresh:
    until that cycle ends (beat dispatches each source one TTL apart). A run a retry or a
    backlog made late must not carry its answer over the next beat, which would then make no
    call and lose its cycle (a minute late at most: a whole cycle without data)."""
    late = (now - dispatched).total_seconds() if dispatched else 0.0
    return ttl - int(late % ttl) if late > 0 else ttl
