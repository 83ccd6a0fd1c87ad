"""Storage of one test's own: a fresh InfluxDB database and a Redis key prefix, removed after
it, so tests (and the workers they start) never see each other's points, caches or budgets."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from enrich.influx import TimeSeries, TimeseriesError, get_timeseries
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


# The tests' INFLUXDB_DATABASE when none of a test's own is set: a name of this process that no
# test creates, so a test (or a process it starts) that reads or writes the default database
# fails at once ("database not found: no_test_owns_this_default_...") instead of passing only
# after some other test happened to create that database (pytest-xdist orders them anew).
UNOWNED = "no_test_owns_this_default"


def unowned_default(settings) -> str:
    """Point INFLUXDB_DATABASE (the setting, and the environment the processes the tests start
    read) at a database of this process that no test creates; returns its name."""
    name = f"{UNOWNED}_{uuid.uuid4().hex[:12]}"
    settings.INFLUXDB_DATABASE = os.environ["INFLUXDB_DATABASE"] = name
    return name


def created_unowned(name: str) -> bool:
    """Whether a test created the unowned default database `name` (it is dropped again, so the
    next test sees it absent); False when InfluxDB is out of reach."""
    try:
        ts = get_timeseries()
        if name not in ts.databases():
            return False
        ts.drop_database(name)
    except TimeseriesError:
        return False  # the tests that need InfluxDB say so themselves
    return True
