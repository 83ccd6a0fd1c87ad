"""`raw_points_removed` of GET /retention/stats counts every raw point the tiers deleted: the
hourly run's and the raw states of sparse entities that the daily run composes and deletes
(retention.tiers.density), measured against the raw points InfluxDB counts before and after."""

import uuid
from datetime import timedelta

import pytest

from retention.models import Entity, RetentionRun
from retention.stats import measure
from retention.tiers import density
from retention.tiers import runner as tiers
from tests.retention.conftest import T0
from tests.support.api import token_client

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
D0 = T0.date()


@pytest.fixture(autouse=True)
def own_redis_prefix(settings):
    settings.REDIS_KEY_PREFIX = f"test-removed-{uuid.uuid4().hex[:8]}"


def raw_points(database: str) -> int:
    return measure.count_raw_points(database, ("autogen",)).points


def test_raw_states_deleted_by_the_daily_run_count_as_raw_points_removed(ha_db, settings):
    settings.INFLUXDB_DATABASE = ha_db.name
    # Day 0 quiet (3 states: kept raw by the hourly tier), day 1 busy (40 states: hourly rows).
    quiet = [(3 * 3600, 120.0), (9 * 3600, 0.0), (20 * 3600, 75.5)]
    busy = [(86400 + 600 + n * 2000, float(100 + n)) for n in range(40)]
    entity = ha_db.write_entity("official", "sensor.heater_power", quiet + busy, unit="W")
    entity.save()
    density.measure([entity], now=T0 + 2 * DAY, days=2)
    assert Entity.objects.get().states_per_day == pytest.approx(43 / 2)
    written = raw_points(ha_db.name)

    hourly = tiers.downsample_hourly(D0, D0 + 2 * DAY)
    daily = tiers.downsample_daily(D0, D0 + 2 * DAY)
    assert (hourly.status, daily.status) == ("ok", "ok"), (hourly.errors, daily.errors)
    assert hourly.records_deleted == 40  # the busy day's states; the quiet day's stay raw
    gone = written - raw_points(ha_db.name)
    assert gone == 43  # the daily run composed the quiet day and deleted its 3 states

    body = token_client("removed").get("/retention/stats").json()

    assert body["raw_points_removed"]["value"] == gone
    assert measure.raw_points_removed() == (gone, 2)


def test_a_running_hourly_run_counts_the_points_it_deleted_so_far(ha_db, settings):
    """Mid-run the raw tier had shrunk by the points the run had deleted, but
    `raw_points_removed` counted none of them until it finished: the savings read negative
    (-1.75 % after demo_home). Measured as each day is done, by the run's own progress."""
    settings.INFLUXDB_DATABASE = ha_db.name
    # 40 states a day for 9 days: a week's deletes go in one go, the run going on after them.
    states = [(day * 86400 + 600 + n * 2000, float(100 + n)) for day in range(9) for n in range(40)]
    ha_db.write_entity("official", "sensor.heater_power", states, unit="W").save()
    written = raw_points(ha_db.name)
    seen = []

    def measured(done: int, days: int, day: str) -> None:
        assert RetentionRun.objects.get().status == "running"
        removed, runs = measure.raw_points_removed()
        seen.append((removed, runs, written - raw_points(ha_db.name)))

    run = tiers.downsample_hourly(D0, D0 + 9 * DAY, progress=measured)

    assert run.status == "ok" and run.records_deleted == 360
    # Each time: what the raw tier lost so far is what the figure counts.
    assert [(removed, runs) for removed, runs, _ in seen if removed] == [
        (gone, 1) for removed, _, gone in seen if removed
    ]
    assert [removed for removed, _, _ in seen] == [gone for _, _, gone in seen]
    assert any(removed for removed, _, _ in seen[:-1]), seen  # before the run's end
    assert measure.raw_points_removed() == (360, 1)
