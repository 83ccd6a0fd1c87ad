"""Storage of one test's own: a fresh InfluxDB database and a Redis key prefix, removed after
it, so tests (and the workers they start) never see each other's points, caches or budgets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from enrich.influx import TimeSeries, get_timeseries
from enrich.redis.client import get_redis


@contextmanager
def fresh_database(prefix: str) -> Iterator[str]:
    """A new InfluxDB database named `test_<prefix>_<random>`, dropped afterwards."""
    name = f"test_{prefix}_{uuid.uuid4().hex[:12]}"
    ts = get_timeseries()
    ts.create_database(name)
    try:
        yield name
    finally:
        ts.drop_database(name)


@contextmanager
def own_storage(settings, name: str) -> Iterator[TimeSeries]:
    """INFLUXDB_DATABASE a fresh database and REDIS_KEY_PREFIX a new prefix (`name` tells the
    test's apart when one is left behind); the database and the prefix's keys go afterwards."""
    with fresh_database(name.replace("-", "_")) as database:
        settings.INFLUXDB_DATABASE = database
        settings.REDIS_KEY_PREFIX = f"test-{name}-{database.rsplit('_', 1)[1]}"
        try:
            yield get_timeseries()
        finally:
            redis = get_redis()
            for key in redis.scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
                redis.delete(key)
