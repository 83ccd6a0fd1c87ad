"""Response cache with a TTL per source, and a last-good store (no expiry) for fallback.

Entries are keyed by what the API answers for (provider + zone/region/tariff/location), never
by site, so all homes in one grid region share one entry. Values are stored as JSON together
with the time they were fetched, so every reader knows how old an answer is:

    <prefix>:cache:<source>:<provider>:<target>     fresh answer, expires after the TTL put() gave it
    <prefix>:lastgood:<source>:<provider>:<target>  latest answer of any age, never expires
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from enrich.redis.client import CONNECTION_ERRORS, RedisUnavailable, get_redis, make_key, redis_url

log = logging.getLogger(__name__)


class CacheUnavailable(RedisUnavailable):
    """Redis is down: the caller decides whether to fetch without the cache or give up."""


@dataclass(frozen=True)
class CachedAnswer:
    value: Any
    fetched_at: datetime  # aware, UTC
    age_seconds: float
    stale: bool  # older than the TTL it was stored with
    ttl_seconds: float = 0.0  # the TTL it was stored with: fresh until fetched_at + ttl_seconds


def cache_key(source: str, provider: str, target: str, *, prefix: str | None = None) -> str:
    """Key of the fresh entry, e.g. ``enrich:cache:carbon_intensity:watttime:CAISO_NORTH``."""
    return make_key("cache", source, provider, target, prefix=prefix)


def last_good_key(source: str, provider: str, target: str, *, prefix: str | None = None) -> str:
    return make_key("lastgood", source, provider, target, prefix=prefix)


class ResponseCache:
    def __init__(
        self,
        url: str | None = None,
        *,
        prefix: str | None = None,
        ttls: Mapping[str, int] | None = None,
    ) -> None:
        self.url = url or redis_url()
        self.prefix = prefix
        self.ttls = dict(settings.CACHE_TTL_SECONDS if ttls is None else ttls)
        self.client = get_redis(self.url)

    def ttl_for(self, source: str) -> int:
        try:
            return self.ttls[source]
        except KeyError:
            raise ValueError(
                f"Unknown cache source {source!r}; known sources: {', '.join(sorted(self.ttls))}. "
                "A new source needs a TTL in CACHE_TTL_SECONDS (config/settings.py)."
            ) from None

    def get(self, source: str, provider: str, target: str) -> CachedAnswer | None:
        """The fresh answer, or None when there is none younger than the TTL it was put with
        (the source's unless put() was given a shorter one)."""
        self.ttl_for(source)
        raw = self._redis(self.client.get, cache_key(source, provider, target, prefix=self.prefix))
        return _decode(raw, fresh=True)

    def last_good(self, source: str, provider: str, target: str) -> CachedAnswer | None:
        """The latest answer ever stored, whatever its age (for fallback when the API fails)."""
        self.ttl_for(source)
        key = last_good_key(source, provider, target, prefix=self.prefix)
        return _decode(self._redis(self.client.get, key), fresh=False)

    def put(
        self,
        source: str,
        provider: str,
        target: str,
        value: Any,
        *,
        ttl: int | None = None,
        fetched_at: datetime | None = None,
    ) -> None:
        """Store a JSON value as the fresh answer and as the last-good one.

        The fresh entry lives until ``fetched_at + ttl``; a value that is already older than
        that only updates the last-good store.
        """
        ttl = self.ttl_for(source) if ttl is None else ttl
        if ttl <= 0:
            raise ValueError(f"ttl must be above 0 seconds, got {ttl}.")
        if fetched_at is None:
            fetched_at = datetime.now(UTC)
        elif fetched_at.tzinfo is None:
            raise ValueError("fetched_at must be timezone-aware, e.g. datetime.now(UTC).")
        fetched_at = fetched_at.astimezone(UTC)
        try:
            record = json.dumps(
                {"value": value, "fetched_at": fetched_at.isoformat(), "ttl_seconds": ttl}
            )
        except TypeError as exc:
            raise TypeError(
                f"Cache values must be JSON (dict, list, str, number, bool, None): {exc}"
            ) from None
        fresh_ms = int((ttl - _age(fetched_at)) * 1000)
        pipe = self.client.pipeline(transaction=True)
        if fresh_ms > 0:
            pipe.set(cache_key(source, provider, target, prefix=self.prefix), record, px=fresh_ms)
        pipe.set(last_good_key(source, provider, target, prefix=self.prefix), record)
        self._redis(pipe.execute)

    def forget(self, source: str, provider: str, target: str) -> None:
        """Drop the fresh and the last-good answer: nothing is served until the next one."""
        self.ttl_for(source)
        keys = (
            key(source, provider, target, prefix=self.prefix) for key in (cache_key, last_good_key)
        )
        self._redis(self.client.delete, *keys)

    def _redis(self, command, *args):
        try:
            return command(*args)
        except CONNECTION_ERRORS as exc:
            raise CacheUnavailable(self.url, exc, "The response cache") from exc


def _age(fetched_at: datetime) -> float:
    # A writer's clock slightly ahead of ours must not give a negative age.
    return max(0.0, (datetime.now(UTC) - fetched_at).total_seconds())


def _decode(raw: str | None, *, fresh: bool) -> CachedAnswer | None:
    if raw is None:
        return None
    try:
        record = json.loads(raw)
        fetched_at = datetime.fromisoformat(record["fetched_at"])
        value, ttl = record["value"], record["ttl_seconds"]
    except (ValueError, KeyError, TypeError) as exc:
        # Not written by put() (hand-edited, or an older format): treat as a miss.
        log.warning("Ignoring unreadable cache entry (%s): %.200r", exc, raw)
        return None
    age = _age(fetched_at)
    return CachedAnswer(value, fetched_at, age, stale=not fresh and age >= ttl, ttl_seconds=ttl)
