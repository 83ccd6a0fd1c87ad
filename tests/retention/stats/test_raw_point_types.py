"""The raw tier's points counted (the denominator of `raw_bytes_per_point`, the hourly dry run's
raw points) with Home Assistant data whose `value` has other types: a boolean `value` beside other
measurements' numbers, a string `value` in a newer shard of a measurement whose older shard holds
numbers. Real InfluxDB; T0 is a Monday, where a shard group of the default policy starts."""

from datetime import timedelta

import pytest

from enrich.readings import Reading
from retention.stats.points import count_raw_points
from tests.retention.conftest import T0

pytestmark = pytest.mark.influxdb


def point(measurement: str, object_id: str, seconds: float, value) -> Reading:
    tags = {"domain": object_id.split("_")[0], "entity_id": object_id}
    return Reading(measurement, {"value": value}, T0 + timedelta(seconds=seconds), tags)


def test_values_of_every_type_are_counted(ha_db):
    # A COUNT reads a field in one type: the 2 booleans were counted as a lower bound (exact
    # false), and the 2 strings of the newer shard not at all (6 points counted as 4).
    ha_db.write([point("°F", "sensor_temp", -3 * 86400, 70.0)])
    ha_db.write([point("°F", "sensor_temp", 1800, "71.5"), point("°F", "sensor_temp", 5400, "72")])
    ha_db.write([point("binary_sensor.bool", "binary_sensor_bool", 0, True),
                 point("binary_sensor.bool", "binary_sensor_bool", 600, False),
                 point("W", "sensor_power", 0, 100.0)])  # fmt: skip
    counted = count_raw_points(ha_db.name, ("autogen",))
    assert (counted.points, counted.exact, counted.lower_bound_measurements) == (6, True, [])
