"""A private influxd (bench._tiers.PrivateInflux) as the tests' InfluxDB for a while."""

from collections.abc import Iterator
from contextlib import contextmanager

from bench._tiers import PrivateInflux
from enrich.influx import reset_timeseries


@contextmanager
def the_influxdb(server: PrivateInflux, settings) -> Iterator[PrivateInflux]:
    """`server` started and the settings' InfluxDB (1.x) until the end, then stopped."""
    server.start()
    settings.INFLUXDB_URL, settings.INFLUXDB_VERSION = server.url, "1"
    reset_timeseries()
    try:
        yield server
    finally:
        reset_timeseries()
        server.stop()
