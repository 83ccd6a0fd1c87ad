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


# The tests' InfluxDB databases when none of a test's own is set: names of this process that no
# test creates, so a test (or a process it starts) that reads or writes a default database fails
# at once ("database not found: no_test_owns_this_default_...") instead of passing only after
# some other test happened to create that database (pytest-xdist orders them anew). TIER_DATABASE
# follows HA_INFLUXDB_DATABASE, as it does when unset.
UNOWNED = "no_test_owns_this_default"
DEFAULTS = (
    "INFLUXDB_DATABASE",
    "HA_INFLUXDB_DATABASE",
    "DEMO_INFLUXDB_DATABASE",
    "RESTORE_INFLUXDB_DATABASE",
)


def unowned_default(settings) -> dict[str, str]:
    """Point each default database's setting (and the environment the processes the tests start
    read) at a database of this process that no test creates; returns {setting: database}."""
    tag = uuid.uuid4().hex[:12]
    names = {}
    for setting in DEFAULTS:
        name = f"{UNOWNED}_{tag}_{setting.split('_', 1)[0].lower()}"
        setattr(settings, setting, name)
        names[setting] = os.environ[setting] = name
    settings.TIER_DATABASE = settings.HA_INFLUXDB_DATABASE  # a new process derives it so
    return names


def created_unowned(names: dict[str, str]) -> list[str]:
    """The settings whose unowned default database (`names`: {setting: database}) a test created;
    each is dropped again, so the next test sees it absent. None when InfluxDB is out of reach."""
    try:
        ts = get_timeseries()
        existing = ts.databases()
        created = [setting for setting, name in names.items() if name in existing]
        for setting in created:
            ts.drop_database(names[setting])
    except TimeseriesError:
        return []  # the tests that need InfluxDB say so themselves
    return created
