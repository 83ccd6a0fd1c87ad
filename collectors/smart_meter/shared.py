"""What a meter adapter asks on a schedule, kept in Redis per provider and account, so every
worker process (Procfile's worker runs two, `-c 2`; docker-compose's one per core) and a
restarted worker share it: when today's total was last asked (day_ends.TodayTotals) and
when an ended day the provider answered without a total was asked (day_ends.EndedDays),
Emporia's device list with the time it was fetched (emporia/devices.py), the day Sense's
trends last answered (sense/adapter.py).
Two processes taking turns, each with a memory of its own, would ask each of them twice as
often as emporia/budget.py plans, the extra calls taken from the account's daily budget.

A value is JSON holding the adapter's clock reading (`time.time` unless a test gives its own),
which says when the next ask is due; the key's expiry only clears what is no longer needed.
A reading ahead of the clock by a whole period (another clock's: a clock set back) counts as
none. Redis out of reach fails the run (RedisUnavailable, as day_ends.EndedDays and the
pipeline's other Redis steps do: the run is recorded failed, the last good answer served):
read before the call it schedules, so no call goes out unplanned; written after it (nothing
written, the call is made again by the next run).
"""

import json
import logging
from typing import Any

from enrich.redis.client import get_redis, make_key, reachable

logger = logging.getLogger(__name__)

MEMORY = "The meters' shared schedule (ended days asked, today's totals, device lists)"


def key(kind: str, provider: str, *account: str) -> str:
    """The Redis key of `kind` (e.g. "today_asked") of a provider's account."""
    return make_key("smart_meter", kind, provider, *account)


def read(kind: str, provider: str, *account: str) -> Any:
    """The value kept (JSON), None when there is none or it is unreadable."""
    with reachable(MEMORY):
        raw = get_redis().get(key(kind, provider, *account))
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        logger.warning("%s: ignoring an unreadable %s entry: %.200r", provider, kind, raw)
        return None


def write(kind: str, provider: str, *account: str, value: Any, kept: float) -> None:
    """Keep `value` (JSON) for `kept` seconds."""
    with reachable(MEMORY):
        get_redis().set(key(kind, provider, *account), json.dumps(value), ex=max(1, int(kept)))


def drop(kind: str, provider: str, *account: str) -> None:
    with reachable(MEMORY):
        get_redis().delete(key(kind, provider, *account))


def due(now: float, last: Any, every: float, early: float = 0.0) -> bool:
    """Whether what was last done at the clock reading `last` (None: never) is due again at
    `now`, `every` seconds (less `early`) after it; a reading that is no number, or is ahead
    of `now` by `every` or more, counts as never."""
    if isinstance(last, bool) or not isinstance(last, int | float):
        return True
    return not -every < now - last < every - early
