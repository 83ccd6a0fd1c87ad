"""Redis out of reach, as the log of work repeated every minute says it (the minute tasks of
collectors.tasks, the Home Assistant publication, each target's collect runs): no traceback,
one line a run, and an outage said whole once, as InfluxDB's is (enrich.api.influx_down.
turned). InfluxDB's outage is remembered in Redis, shared by every process; Redis's cannot be,
so each process remembers its own: the first run it meets Redis out of reach in logs an ERROR
with the whole error (REDIS_URL and what to do), each later run one WARNING line, and the
first run that gets through again an INFO line. Work that handles the failure itself, not
raising it (a collect run, recorded as failed: collectors.pipeline), says so by `unreachable`
and `answered` alone."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from enrich.redis.client import CONNECTION_ERRORS, RedisUnavailable, redis_url

# The work whose runs meet Redis out of reach in this process, and since when.
_since: dict[str, datetime] = {}


@contextmanager
def redis_outage(who: str, log: logging.Logger, effect: str) -> Iterator[None]:
    """Run one round of `who`'s work (a task's name). Redis out of reach inside is logged as
    the module says, `effect` telling what it costs the run ("this run fails, ..."), and
    raised as a RedisUnavailable (one redis-py raised is turned into it, naming REDIS_URL). A
    round that ends in any other way counts as Redis answering: each caller's round asks Redis
    something whatever else fails (the minute tasks keep InfluxDB's state there)."""
    try:
        yield
    except (RedisUnavailable, *CONNECTION_ERRORS) as exc:
        unavailable = (
            exc if isinstance(exc, RedisUnavailable) else RedisUnavailable(redis_url(), exc)
        )
        unreachable(who, log, effect, unavailable)
        if unavailable is exc:
            raise
        raise unavailable from exc
    except BaseException:
        answered(who, log)
        raise
    answered(who, log)


def unreachable(who: str, log: logging.Logger, effect: str, unavailable: RedisUnavailable) -> None:
    """A round of `who`'s work met Redis out of reach: the ERROR or the WARNING line."""
    since = _since.get(who)
    if since is None:
        _since[who] = datetime.now(UTC)
        log.error("%s: Redis cannot be reached; %s, and each run says so in one line until "
                  "Redis answers again: %s", who, effect, unavailable)  # fmt: skip
    else:
        log.warning("%s: Redis still cannot be reached (since %s UTC); %s", who,
                    f"{since:%Y-%m-%d %H:%M:%S}", effect)  # fmt: skip


def answered(who: str, log: logging.Logger) -> None:
    """A round of `who`'s work got through Redis: the INFO line, after an outage."""
    if _since.pop(who, None) is not None:
        log.info("%s: Redis answers again", who)
