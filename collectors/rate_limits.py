"""A provider's HTTP 429 with Retry-After, remembered in Redis until the wait it asked for ends.

`enrich.http` sits out a Retry-After of up to HTTP_MAX_RETRY_AFTER_SECONDS inline; a longer one
fails the fetch at once, the wait attached (`RateLimitedError.retry_after`). The pipeline
remembers it here for whom the provider limits (the budget's scope: `Adapter.budget_key`, the
provider, a target or a login), so no run on any worker (the task's retries, the next beat)
calls before the wait ends: they serve the last good answer (status "budget"), saying why.

    <prefix>:rate-limited:<provider>:<budget key, or * for the whole provider>  -> JSON
"""

import json
from datetime import UTC, datetime, timedelta

from enrich.http import HttpError, RateLimitedError
from enrich.redis.client import get_redis, make_key, reachable


def _key(provider: str, scope: str | None) -> str:
    # "*" (never produced by make_key, which escapes it) marks a provider-wide limit.
    if scope is None:
        return f"{make_key('rate-limited', provider)}:*"
    return make_key("rate-limited", provider, scope)


MEMORY = "The rate limit memory"


def remember(provider: str, scope: str | None, error: HttpError | None) -> None:
    """Keep a 429's Retry-After (nothing for other errors, or a 429 that named no wait)."""
    wait = error.retry_after if isinstance(error, RateLimitedError) else None
    if not wait or wait <= 0:
        return
    until = datetime.now(UTC) + timedelta(seconds=wait)
    record = json.dumps({"until": until.isoformat(timespec="seconds"), "endpoint": error.endpoint})
    key = _key(provider, scope)
    with reachable(MEMORY):
        get_redis().set(key, record, px=max(1, int(wait * 1000)))


def waiting(provider: str, scope: str | None) -> str:
    """Why no call may be made now (a remembered Retry-After not over yet), or ""."""
    with reachable(MEMORY):
        raw = get_redis().get(_key(provider, scope))
    try:
        until = json.loads(raw)["until"] if raw is not None else None
    except (TypeError, ValueError, KeyError):
        return ""
    if until is None:
        return ""
    return (
        f"{provider} answered HTTP 429 asking to wait (Retry-After) until {until}; no call before"
    )
