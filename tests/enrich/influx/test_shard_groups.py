"""First writes into an InfluxDB 1.x shard group, one process at a time (enrich.influx.
shard_groups; docs/storage.md, "InfluxDB 1.6 caveat"), against the InfluxDB named by
INFLUXDB_URL / INFLUXDB_VERSION and a Redis of the test's own, whose count of SET commands is
the count of locks taken."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from enrich.influx import RetentionTier, TimeSeries, connect
from enrich.readings import Reading
from tests.enrich.conftest import influx_options
from tests.support.redis_server import asking_once, commands_redis_fixture  # noqa: F401  (fixture)

pytestmark = pytest.mark.influxdb


@pytest.fixture(name="gateway")
def gateway_fixture() -> Iterator[TimeSeries]:
    """A gateway of the test's own, as a process starts with: it has written to no group yet."""
    options = influx_options()
    gateway = connect(options.pop("url"), options.pop("version"), **options)
    yield gateway
    gateway.close()


def locks_taken(redis_url: str) -> int:
    stats = asking_once(redis_url).info("commandstats")
    return stats.get("cmdstat_set", {}).get("calls", 0)


def write(ts, database: str, at: str, policy: str | None = None) -> None:
    when = datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert ts.write(database, [Reading("m", {"v": 1.0}, when)], retention_policy=policy) == 1


def test_a_first_write_into_a_shard_group_holds_the_lock_and_later_ones_do_not(
    gateway, database, commands_redis
):
    ts = gateway
    if ts.version == "2":  # 2.x's buckets do not say their shard group duration
        pytest.skip("InfluxDB 2.x: first writes are not guarded")
    ts.create_database(database, [RetentionTier("hourly", "INF", shard_duration="1h")])
    write(ts, database, "2024-03-04T00:00:00")  # autogen: 7-day groups, from a Monday
    assert locks_taken(commands_redis.url) == 1
    write(ts, database, "2024-03-10T23:59:59")  # Sunday: the same group
    assert locks_taken(commands_redis.url) == 1
    write(ts, database, "2024-03-11T00:00:00")  # the next Monday: the next group
    assert locks_taken(commands_redis.url) == 2
    write(ts, database, "2024-03-04T00:30:00", "hourly")  # another policy: its own groups
    write(ts, database, "2024-03-04T00:59:00", "hourly")
    assert locks_taken(commands_redis.url) == 3
    write(ts, database, "2024-03-04T01:00:00", "hourly")
    assert locks_taken(commands_redis.url) == 4
    # The groups as InfluxDB made them: the ones the gateway counted.
    starts = sorted(
        (shard.retention_policy, shard.start)
        for shard in ts.shard_sizes().values()
        if shard.database == database
    )
    assert starts == [
        ("autogen", "2024-03-04T00:00:00Z"),
        ("autogen", "2024-03-11T00:00:00Z"),
        ("hourly", "2024-03-04T00:00:00Z"),
        ("hourly", "2024-03-04T01:00:00Z"),
    ]
    assert not asking_once(commands_redis.url).keys("*")  # each lock released


def test_a_first_write_into_a_shard_group_goes_ahead_without_redis(
    gateway, database, commands_redis
):
    ts = gateway
    commands_redis.stop()
    write(ts, database, "2024-03-04T00:00:00")
    write(ts, database, "2024-03-11T00:00:00")
    with ts.query(database, "SELECT COUNT(v) FROM m") as rows:
        assert [row.values["count"] for row in rows] == [2]
