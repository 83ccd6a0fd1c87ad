import pytest

from tests.support import isolation


@pytest.fixture
def own_storage(settings):
    """An InfluxDB database and a Redis key prefix of this test's own; yields the database."""
    with isolation.own_storage(settings, "api"):
        yield settings.INFLUXDB_DATABASE
