import uuid

import pytest

from enrich.influx import get_timeseries
from enrich.redis.client import get_redis


@pytest.fixture
def own_storage(settings):
    """An InfluxDB database and a Redis key prefix of this test's own; yields the database."""
    tag = uuid.uuid4().hex[:10]
    settings.INFLUXDB_DATABASE = f"test_api_{tag}"
    settings.REDIS_KEY_PREFIX = f"test-api-{tag}"
    get_timeseries().create_database(settings.INFLUXDB_DATABASE)
    yield settings.INFLUXDB_DATABASE
    get_timeseries().drop_database(settings.INFLUXDB_DATABASE)
    for key in get_redis().scan_iter(f"{settings.REDIS_KEY_PREFIX}:*"):
        get_redis().delete(key)
