"""The `ha_silent` alert left out, for the tests of other alerts.

The periodic alert check opens it while HA_INFLUXDB_DATABASE names a database InfluxDB does not
have, or one holding no Home Assistant point (retention.entities.silent): the tests' default
database is one no test creates (tests/support/isolation.py), and `ha_db` starts empty. A test
of another alert that checks every alert the check opens takes `ha_silence_unchecked`:
HA_SILENT_HOURS=0, which leaves that alert out."""

import pytest


@pytest.fixture
def ha_silence_unchecked(settings) -> None:
    settings.HA_SILENT_HOURS = 0


# A module's or a test's mark: `pytestmark = [..., HA_SILENCE_UNCHECKED]`.
HA_SILENCE_UNCHECKED = pytest.mark.usefixtures("ha_silence_unchecked")
