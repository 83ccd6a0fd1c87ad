"""A Redis lock held by one run at a time: SET NX with an expiry and an owner token.

Only the owner releases or renews it (compare-and-delete / compare-and-expire in one Lua
script each, so a run whose lock expired and was taken by another never deletes the other's).
The expiry is the safety net for a killed worker: a dead run's lock disappears after `ttl`.
A long run calls `renew()` between chunks; `renew()` returning False means the lock was lost
and the run must stop writing.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from enrich.redis.client import get_redis, make_key

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""


class RunLock:
    """`RunLock("downsample_hourly", owner="run 12").acquire()`; see the module docstring."""

    def __init__(self, name: str, *, owner: str = "", ttl_seconds: float = 600) -> None:
        self.name = name
        self.key = make_key("lock", name)
        self.ttl_ms = int(ttl_seconds * 1000)
        # The value says who holds it (shown to the run that finds it taken) and is unique.
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        self.token = f"{owner or 'unnamed'} since {stamp} [{uuid.uuid4().hex}]"
        self.held = False

    def acquire(self) -> bool:
        self.held = bool(get_redis().set(self.key, self.token, nx=True, px=self.ttl_ms))
        return self.held

    def holder(self) -> str | None:
        """Who holds the lock now (their token without the random part), or None."""
        value = get_redis().get(self.key)
        return None if value is None else value.rsplit(" [", 1)[0]

    def renew(self) -> bool:
        """Extend the expiry; False when this run no longer owns the lock."""
        if not self.held:
            return False
        self.held = bool(get_redis().eval(_RENEW, 1, self.key, self.token, self.ttl_ms))
        return self.held

    def release(self) -> bool:
        """Delete the lock if this run owns it; True when it did."""
        released = bool(get_redis().eval(_RELEASE, 1, self.key, self.token))
        self.held = False
        return released
