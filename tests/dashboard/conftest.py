"""Own InfluxDB database and Redis keys per test: the collectors' fixture."""

from tests.collectors.conftest import isolated

__all__ = ["isolated"]
