"""Do the services answer? Used by the health endpoint and the periodic health task."""

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext

from django.db import connection

from enrich.redis.client import RedisUnavailable
from enrich.redis.outage import redis_outage

logger = logging.getLogger(__name__)


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return connection.vendor


def _redis() -> str:
    from enrich.redis.client import get_redis

    info = get_redis().info("server")
    return f"redis {info['redis_version']}"


def _influxdb() -> str:
    from enrich.influx import get_timeseries

    timeseries = get_timeseries()
    version = timeseries.ping()
    # /ping answers whoever asks; a query is refused when INFLUXDB_USERNAME/PASSWORD are wrong.
    timeseries.databases()
    return f"influxdb {version}"


CHECKS: dict[str, Callable[[], str]] = {
    "database": _database,
    "redis": _redis,
    "influxdb": _influxdb,
}


# What a health check says of Redis out of reach, whose log is one line a check
# (enrich.redis.outage): monitors poll the endpoint every few seconds, beat the task every 5 min.
REDIS_DOWN = "the health check reports it down"


def check_services() -> dict:
    """{"ok": bool, "services": {name: {"ok", "detail", "ms"}}}; never raises."""
    services = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            with redis_outage("health", logger, REDIS_DOWN) if name == "redis" else nullcontext():
                detail, ok = check(), True
        except RedisUnavailable as exc:  # logged; its detail is redis-py's, as any check's
            cause = exc.__cause__ or exc
            detail, ok = f"{type(cause).__name__}: {cause}", False
        except Exception as exc:  # a health check reports every failure, whatever its kind
            detail, ok = f"{type(exc).__name__}: {exc}", False
            logger.error("health: %s does not answer: %s", name, detail)
        services[name] = {
            "ok": ok,
            "detail": detail,
            "ms": round((time.monotonic() - started) * 1000, 1),
        }
    return {"ok": all(s["ok"] for s in services.values()), "services": services}


def without_detail(result: dict) -> dict:
    """The answer for anonymous callers: ok or not per service, no versions or error text."""
    return {
        "ok": result["ok"],
        "services": {name: {"ok": s["ok"]} for name, s in result["services"].items()},
    }
