"""API budgets ("100/day", "3000/5min") shared by every worker and process, kept in Redis.

Each budget is an exact sliding-window log: a sorted set of call timestamps, one unique
member per call. One Lua script trims calls older than the window, counts, and adds, so two
workers can never both take the last call. The script reads the Redis server's clock (TIME),
so workers on hosts whose clocks disagree still share one timeline.

Keys: ``<prefix>:ratelimit:<provider>:<target or *>:<period>s``. A provider whose limit is per
API key uses target None (one budget for all its zones); one whose limit is per user account
(Sense, Emporia) uses the account as the target, so each account has its own. The period is part of the key so a
provider can have both a per-minute and a per-day budget without them mixing.
"""

import re
import uuid
from dataclasses import dataclass, field

import redis

from enrich.redis.client import (
    CONNECTION_ERRORS,
    RedisUnavailable,
    get_redis,
    key_part,
    make_key,
    redis_url,
)

# KEYS[1] the log; ARGV: limit, window in microseconds, calls wanted (n), mode, member. Mode 1:
# take all n or none; 2: take n or as many as are free (never past the limit); 0: only look.
# Returns {granted 1/0 (mode 2: calls taken), calls left after this, microseconds until n calls
# are free (0 = now)}.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
if ARGV[4] == '2' then
  local k = math.max(0, math.min(n, limit - used))
  for i = 1, k do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
  if k > 0 then redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000)) end
  return {k, limit - used - k, 0}
end
if used + n <= limit then
  if ARGV[4] == '1' then
    for i = 1, n do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
    return {1, limit - used - n, 0}
  end
  return {0, limit - used, 0}
end
-- Enough calls are free once the (used + n - limit)-th oldest one leaves the window.
local k = used + n - limit - 1
local oldest = redis.call('ZRANGE', KEYS[1], k, k, 'WITHSCORES')
return {0, limit - used, tonumber(oldest[2]) + window - now}
"""

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_FORMS = "N/second, N/minute, N/hour, N/day or N/<k>min (e.g. 100/day, 3000/5min)"


def parse_budget(spec: str) -> tuple[int, int]:
    """``"100/day"`` -> ``(100, 86400)``; ``"3000/5min"`` -> ``(3000, 300)``."""
    pattern = r"\s*([0-9]+)\s*/\s*(?:(second|minute|hour|day)|([0-9]+)\s*min)\s*"
    match = re.fullmatch(pattern, spec.lower()) if isinstance(spec, str) else None
    if not match or int(match[1]) < 1 or (match[3] is not None and int(match[3]) < 1):
        raise ValueError(f"Budget {spec!r} is not understood; use {_FORMS}, with N and k above 0.")
    period = _UNITS[match[2]] if match[2] else int(match[3]) * 60
    return int(match[1]), period


class BudgetExceeded(Exception):
    def __init__(self, provider: str, target: str | None, retry_after: float) -> None:
        self.provider, self.target, self.retry_after = provider, target, retry_after
        where = f" for {target}" if target is not None else ""
        super().__init__(
            f"API budget of {provider}{where} is used up; a call frees up in {retry_after:.1f} s."
        )


@dataclass(frozen=True)
class Taken:
    """Calls taken from a budget at once: the log members `<member>:1` .. `<member>:<calls>`."""

    member: str
    calls: int


class BudgetUnavailable(RedisUnavailable):
    """Redis is down, so no worker can know whether the budget allows a call."""


@dataclass
class Budget:
    provider: str
    limit: int
    period_seconds: float
    target: str | None = None
    redis_url: str | None = field(default=None, repr=False)
    prefix: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.limit < 1 or self.period_seconds <= 0:
            raise ValueError(
                f"Budget of {self.provider} needs limit >= 1 and period above 0 seconds, "
                f"got {self.limit} per {self.period_seconds} s."
            )
        self.redis_url = self.redis_url or redis_url()
        # "*" (never produced by key_part, which escapes it) marks a provider-wide budget.
        target = "*" if self.target is None else key_part(self.target)
        provider = make_key("ratelimit", self.provider, prefix=self.prefix)
        self.key = f"{provider}:{target}:{self.period_seconds:g}s"
        self._script = get_redis(self.redis_url).register_script(_SCRIPT)

    @classmethod
    def from_spec(cls, provider: str, spec: str, target: str | None = None, **kwargs) -> "Budget":
        limit, period = parse_budget(spec)
        return cls(provider, limit, period, target, **kwargs)

    def try_acquire(self, n: int = 1) -> bool:
        """Take n calls if all n are free now; otherwise take none and return False."""
        return self.take(n) is not None

    def take(self, n: int = 1, *, keep: int = 0) -> "Taken | None":
        """Like try_acquire, but what was taken can be partly given back (give_back): for a
        fetch whose calls depend on the answer, reserved at its most, settled after. `keep`:
        take only if at least that many calls stay free after (a reserve others need)."""
        member = uuid.uuid4().hex
        if 1 <= n <= self.limit < n + keep:  # no call left above what is kept
            return None
        if self._run(n, mode=1, member=member, keep=keep)[0] != 1:
            return None
        return Taken(member, n)

    def take_up_to(self, n: int) -> int:
        """Take n calls, or as many as are free when fewer are (the budget ends at 0, never
        below): for calls already made that no reservation covered. Returns the calls taken."""
        if n < 1:
            return 0
        return self._run(min(n, self.limit), mode=2)[0]

    def give_back(self, taken: "Taken", unused: int) -> None:
        """Return the last `unused` calls of `taken` (calls reserved but never made)."""
        unused = min(max(unused, 0), taken.calls)
        if not unused:
            return
        members = [f"{taken.member}:{i}" for i in range(taken.calls - unused + 1, taken.calls + 1)]
        try:
            get_redis(self.redis_url).zrem(self.key, *members)
        except CONNECTION_ERRORS as exc:
            raise BudgetUnavailable(
                self.redis_url, exc, f"The API budget of {self.provider}"
            ) from exc

    def acquire_or_raise(self, n: int = 1) -> None:
        if not self.try_acquire(n):
            raise BudgetExceeded(self.provider, self.target, self.retry_after(n))

    def remaining(self) -> int:
        """Calls still free in the current window."""
        return max(0, self._run(1, mode=0)[1])  # below 0 if the limit was lowered

    def retry_after(self, n: int = 1) -> float:
        """Seconds until n calls are free (0.0 when they are free now)."""
        return self._run(n, mode=0)[2] / 1_000_000

    def _run(self, n: int, *, mode: int, member: str = "", keep: int = 0) -> list[int]:
        if not 1 <= n <= self.limit:
            raise ValueError(f"n must be between 1 and the limit ({self.limit}), got {n}.")
        window_us = int(self.period_seconds * 1_000_000)
        args = [self.limit - keep, window_us, n, mode, member or uuid.uuid4().hex]
        try:
            return self._script(keys=[self.key], args=args)
        except CONNECTION_ERRORS as exc:
            raise BudgetUnavailable(
                self.redis_url, exc, f"The API budget of {self.provider}"
            ) from exc
        except redis.exceptions.ResponseError as exc:
            raise RuntimeError(f"Budget script failed on {self.key}: {exc}") from exc
