"""`TimeSeries.compactions()`: what a tier run's settled storage figure waits for
(retention.tiers.storage), against the InfluxDB named by INFLUXDB_URL / INFLUXDB_VERSION."""

from datetime import UTC, datetime

import pytest

from enrich.influx import RetentionTier
from enrich.readings import Reading

pytestmark = pytest.mark.influxdb


def test_compactions_name_each_tier_of_a_database_with_nothing_running_when_idle(ts, database):
    ts.create_database(database, [RetentionTier("hourly", "30d")])
    now = datetime.now(UTC).replace(microsecond=0)  # inside both tiers
    ts.write(database, [Reading("m", {"v": 1.0}, now)])
    ts.write(database, [Reading("m", {"v": 2.0}, now)], retention_policy="hourly")
    busy = ts.compactions()
    if ts.version == "2":  # 2.x reports no shards: the settled figure polls the sizes instead
        assert busy is None
        return
    # A few points sit in the cache (snapshot after 10 cold minutes): nothing runs or waits.
    assert busy[(database, "autogen")] == 0
    assert busy[(database, "hourly")] == 0
    assert all(isinstance(n, int) and n >= 0 for n in busy.values())
