"""`total` energy meters through the real tiers over the real InfluxDB, in both layouts: the
state class and last_reset read from the stored points (official: fields `state_class_str`
and `last_reset_str`; ingestor: the attributes JSON), the hourly rows' growth as Home
Assistant's statistics count it, carried across a day whose raw points were deleted, and
the daily row == Σ hourly. T0 = 2024-03-04 00:00 UTC (tests/retention/conftest.py)."""

import math
from datetime import timedelta

import pytest

from retention.entities.discovery import discover
from retention.entities.ha_source import count_samples
from retention.tiers import runner as tiers
from retention.tiers.rows import DAILY_RP, HOURLY_RP, read_rows
from tests.retention.conftest import T0, official_readings

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
D0 = T0.date()
TOTAL = {"state_class": "total"}


def lr(day: int) -> dict:
    """A daily meter's attributes on March `day` (last_reset at local midnight, +01:00)."""
    return {"state_class": "total", "last_reset": f"2024-03-{day:02d}T00:00:00+01:00"}


def run(operation, start, end):
    done = operation(start, end)
    assert done.status == "ok", (done.status, done.errors)


def growth(entity_id: str, rp: str = HOURLY_RP) -> dict[int, float]:
    rows = read_rows(rp, T0 - DAY, T0 + 3 * DAY, entity_id).get(entity_id, [])
    return {round((row.start - T0) / HOUR): row.fields["total_energy"] for row in rows}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_total_meters_grow_as_home_assistant_counts_them_hourly_and_daily(ha_db, layout):
    net = ha_db.saved_entity(
        layout,
        "sensor.grid_net_energy",
        [
            (600, 12.0, TOTAL),  # 00:10 the zero point
            (4200, 2.0, TOTAL),  # 01:10 exporting: -10 (not a reset: +2)
            (7800, -3.5, TOTAL),  # 02:10 negative, valid: -5.5
            (11400, 1.0, TOTAL),  # 03:10 +4.5
        ],
        unit="kWh",
    )
    daily_meter = ha_db.saved_entity(
        layout,
        "sensor.solar_today_energy",
        [
            (600, 3.0, lr(3)),  # 00:10 the zero point, cycle March 3
            (3000, 3.4, lr(3)),  # 00:50 +0.4
            (5400, 3.2, lr(4)),  # 01:30 new cycle with a 6 % drop: +3.2 (not -0.2)
            (9000, 3.9, lr(4)),  # 02:30 +0.7
            (10800, 4.5, lr(5)),  # 03:00 sharp, new cycle while rising: +4.5 (not +0.6)
            (86400, 4.7, lr(6)),  # next day 00:00 sharp, new cycle: +4.7 (not +0.2)
            (86400 + 1800, 5.0, lr(6)),  # 00:30 +0.3
        ],
        unit="kWh",
    )
    run(tiers.downsample_hourly, D0, D0 + DAY)  # D0's raw points are deleted ...
    assert count_samples(daily_meter, T0, T0 + DAY) == 0
    run(tiers.downsample_hourly, D0 + DAY, D0 + 2 * DAY)  # ... before D0 + 1 is aggregated

    net_hours = growth(net.entity_id)
    assert net_hours[0] == 0 and close(net_hours[1], -10.0)
    assert close(net_hours[2], -5.5) and close(net_hours[3], 4.5)
    assert all(net_hours[h] == 0 for h in range(4, 48))
    net_rows = read_rows(HOURLY_RP, T0, T0 + DAY, net.entity_id)[net.entity_id]
    assert net_rows[2].fields["min_value"] == -3.5 and net_rows[3].fields["last_value"] == 1.0

    solar = growth(daily_meter.entity_id)
    assert close(solar[0], 0.4) and close(solar[1], 3.2) and close(solar[2], 0.7)
    assert close(solar[3], 4.5) and close(solar[24], 5.0)
    assert all(solar[h] == 0 for h in (*range(4, 24), *range(25, 48)))
    # The row says the cycle in UTC: carried into D0 + 1 once D0's raw points were gone.
    d1 = read_rows(HOURLY_RP, T0 + DAY, T0 + DAY + HOUR, daily_meter.entity_id)
    assert d1[daily_meter.entity_id][0].fields["last_reset"] == "2024-03-05T23:00:00+00:00"

    run(tiers.downsample_daily, D0, D0 + 2 * DAY)
    for entity, hours in ((net, net_hours), (daily_meter, solar)):
        days = growth(entity.entity_id, DAILY_RP)
        assert close(days[0], sum(v for h, v in hours.items() if h < 24))
        assert close(days[24], sum(v for h, v in hours.items() if h >= 24))
    assert close(growth(net.entity_id, DAILY_RP)[0], -11.0)  # 1.0 - 12.0
    assert close(growth(daily_meter.entity_id, DAILY_RP)[0], 8.8)  # 0.4 + 3.9 + 4.5
    assert close(growth(daily_meter.entity_id, DAILY_RP)[24], 5.0)


def test_total_increasing_meter_with_a_state_class_is_unchanged(ha_db, layout):
    # The same drops with state_class total_increasing: 12 -> 2 is a reset (+2), the
    # negative reading is skipped, 2 -> 1 is a reset (+1).
    rising = {"state_class": "total_increasing"}
    entity = ha_db.saved_entity(
        layout,
        "sensor.heat_pump_energy",
        [(600, 12.0, rising), (4200, 2.0, rising), (7800, -3.5, rising), (11400, 1.0, rising)],
        unit="kWh",
    )
    run(tiers.downsample_hourly, D0, D0 + DAY)
    hours = growth(entity.entity_id)
    assert (hours[0], hours[1], hours[2], hours[3]) == (0, 2.0, 0, 1.0)
    assert "last_reset" not in read_rows(HOURLY_RP, T0, T0 + DAY)[entity.entity_id][3].fields


def test_meter_attributes_home_assistant_writes_as_tags_are_read_by_the_tiers(ha_db):
    # `tags_attributes: [state_class, last_reset]` in Home Assistant's InfluxDB integration
    # writes them as tags, not `*_str` fields. The hourly tier read the net meter as
    # total_increasing (12 -> 2 a reset, +2; 1.0 at 03:10 +1: 3 kWh) while the views read -11.
    readings = []
    for seconds, reading in ((600, 12.0), (4200, 2.0), (7800, -3.5), (11400, 1.0)):
        tags = {"state_class": "total", "last_reset": "2024-03-01T00:00:00+00:00"}
        readings += official_readings("sensor.grid_net_energy", [(seconds, reading)],
                                      unit="kWh", extra_tags=tags)  # fmt: skip
    ha_db.write(readings)
    discover(ha_db.name, "official")

    run(tiers.downsample_hourly, D0, D0 + DAY)

    hours = growth("sensor.grid_net_energy")
    assert close(hours[1], -10.0) and close(hours[2], -5.5) and close(hours[3], 4.5)
    assert close(sum(hours.values()), -11.0)
