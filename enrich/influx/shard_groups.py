"""First writes into a shard group, one process at a time (see docs/storage.md, "InfluxDB 1.6
caveat").

InfluxDB 1.6.7 (Debian's) can drop points, while answering 204, when several processes write at
once into a shard group it has not created yet. The gateway remembers, in memory, the shard
groups (database, retention policy, group start) this process has written to; a batch with a
point in a group it has not written yet is sent holding a short Redis lock of the database
(`RunLock("influx-shard", database)`), so first writes of several processes come one after
another. The group is remembered once the write succeeded; later writes into it take no lock.

A group starts where InfluxDB starts it: the point's time truncated to the policy's shard group
duration (SHOW RETENTION POLICIES, read once per database) counted from Go's zero time, 0001-01-01
UTC; so a 7-day group starts on a Monday. Where the duration is unknown (InfluxDB 2.x's buckets,
a database not found) the write goes ahead unguarded; so does one whose Redis is out of reach,
after the lock's connection attempt (a debug log says so), and, without trying Redis, every first
write of the next REDIS_PAUSE seconds: a tier run writing into many groups waits once, not per group.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from enrich.influx.errors import TimeseriesError
from enrich.influx.policies import RetentionTier
from enrich.redis.client import CONNECTION_ERRORS
from enrich.redis.lock import RunLock

logger = logging.getLogger(__name__)

# Go's zero time (0001-01-01 UTC), where InfluxDB's shard group boundaries are counted from,
# in ns before the Unix epoch.
GO_ZERO_NS = 62_135_596_800 * 10**9
# The lock's expiry, and how long a first write waits for another process's first write: a
# batch is written within a second or two, so a holder that outlasts this is stuck or dead.
LOCK_SECONDS = 10
# How long first writes go ahead without trying a Redis found out of reach.
REDIS_PAUSE = 60

Group = tuple[str, str, int]  # database, retention policy ("" for the default), start in ns


def lock_of(database: str) -> RunLock:
    """The lock first writes into a shard group of `database` hold."""
    return RunLock("influx-shard", database, owner="a first write", ttl_seconds=LOCK_SECONDS)


class ShardGroups:
    """The shard groups one gateway (one per process) has written to; see the module docstring.
    `tiers` lists a database's retention policies (the gateway's `retention_policies`)."""

    def __init__(self, tiers: Callable[[str], list[RetentionTier]]) -> None:
        self._tiers = tiers
        self._written: set[Group] = set()
        # database -> retention policy ("" for the default) -> shard group duration in ns,
        # None where the server does not say.
        self._durations: dict[str, dict[str, int | None]] = {}
        self._redis_tried_after = 0.0  # time.monotonic() before which Redis is not tried

    def forget(self, database: str) -> None:
        """Forget what is known of `database` (it was dropped: its groups are gone)."""
        self._durations.pop(database, None)
        self._written = {group for group in self._written if group[0] != database}

    def unwritten(self, database: str, policy: str | None, times_ns: Iterable[int]) -> set[Group]:
        """The groups of points at `times_ns` this process has not written to; empty where the
        policy's shard group duration is unknown."""
        step = self._duration(database, policy or "")
        if not step:
            return set()
        groups = {(database, policy or "", t - (t + GO_ZERO_NS) % step) for t in times_ns}
        return groups - self._written

    @contextmanager
    def first_write(self, database: str, groups: set[Group]) -> Iterator[None]:
        """Hold the database's lock around a write into `groups` (none: no lock), waiting up to
        LOCK_SECONDS for another process's; remember the groups when the write succeeded."""
        if not groups:
            yield
            return
        lock = lock_of(database)
        if time.monotonic() >= self._redis_tried_after:
            try:
                lock.acquire(wait_seconds=LOCK_SECONDS)
            except CONNECTION_ERRORS as exc:
                self._redis_tried_after = time.monotonic() + REDIS_PAUSE
                logger.debug("first writes unguarded for %s s: Redis is out of reach: %s",
                             REDIS_PAUSE, exc)  # fmt: skip
        try:
            yield
        finally:
            lock.release_quietly()
        self._written |= groups

    def _duration(self, database: str, policy: str) -> int | None:
        known = self._durations.get(database)
        if known is None or policy not in known:  # not read yet, or a policy created since
            try:
                tiers = self._tiers(database)
            except TimeseriesError:  # e.g. no such database: the write says so itself
                return None
            known = {t.name: t.shard_seconds and t.shard_seconds * 10**9 for t in tiers}
            known[""] = next((known[t.name] for t in tiers if t.default), None)
            self._durations[database] = known
        return known.get(policy)
