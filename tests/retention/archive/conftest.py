"""Fixtures of the archive tests: a staff user's token client, the lossy InfluxDB proxy."""

import pytest

from enrich.influx import reset_timeseries
from tests.support.api import token_client
from tests.support.lossy_influx import lossy_influx


@pytest.fixture
def client():
    return token_client("ops", staff=True)


@pytest.fixture
def proxy(settings):
    """The proxy, and the process's InfluxDB gateway pointed at it (and back afterwards)."""
    with lossy_influx(settings.INFLUXDB_URL) as lossy:
        settings.INFLUXDB_URL = lossy.url
        reset_timeseries()
        try:
            yield lossy
        finally:
            reset_timeseries()
