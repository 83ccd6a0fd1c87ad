"""Fixtures of the core's tests: InfluxDB for the gateway's contract tests, and `prefix`, a
Redis key prefix of one test (its keys deleted afterwards) for the cache and budget tests.

They talk to the InfluxDB named by the environment, the same variables the application
reads: INFLUXDB_URL (default the project's 1.x on 127.0.0.1:8186), INFLUXDB_VERSION ("1" or
"2"), INFLUXDB_USERNAME / INFLUXDB_PASSWORD (1.x with auth), INFLUXDB_TOKEN / INFLUXDB_ORG
(2.x), INFLUXDB_TIMEOUT. Every test gets its own freshly created database, dropped after it.
"""

import os
import uuid
from collections.abc import Iterator

import pytest

from enrich.influx import TimeSeries, connect
from enrich.redis.client import get_redis


def influx_options() -> dict[str, str | float]:
    return {
        "url": os.environ.get("INFLUXDB_URL", "http://127.0.0.1:8186"),
        "version": os.environ.get("INFLUXDB_VERSION", "1"),
        "username": os.environ.get("INFLUXDB_USERNAME", ""),
        "password": os.environ.get("INFLUXDB_PASSWORD", ""),
        "token": os.environ.get("INFLUXDB_TOKEN", ""),
        "org": os.environ.get("INFLUXDB_ORG", ""),
        "timeout": float(os.environ.get("INFLUXDB_TIMEOUT", "30")),
    }


@pytest.fixture(scope="session")
def ts() -> Iterator[TimeSeries]:
    """The gateway for the InfluxDB under test; its version must match INFLUXDB_VERSION."""
    options = influx_options()
    gateway = connect(options.pop("url"), options.pop("version"), **options)
    gateway.check_version()
    yield gateway
    gateway.close()


@pytest.fixture
def database(ts: TimeSeries) -> Iterator[str]:
    """A fresh, uniquely named database with only the default tier, dropped afterwards."""
    name = f"test_ts_{uuid.uuid4().hex[:12]}"
    ts.create_database(name)
    yield name
    ts.drop_database(name)


@pytest.fixture
def prefix():
    """A key prefix of this test alone; its keys are deleted afterwards."""
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield prefix
    client = get_redis()
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
