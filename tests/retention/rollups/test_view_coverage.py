"""A rebuild keeps a row it would count from an earlier reading than the row was built from.

A meter's day is its growth from the reading in force at midnight (the last one before the
day) through the day's readings. When InfluxDB stops returning a day's points (1.6's hidden
series after a DELETE; here an InfluxQL DELETE, which InfluxDB answers alike), the next day's
first growth is counted from the day before's last reading: the hidden day's energy lands in
the next day's row, read from as many points as before.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import call_command

from enrich.influx import get_timeseries
from retention import models
from retention.rollups.materialized import ENERGY, MaterializedViewManager, rebuild_view
from tests.retention.conftest import T0, HaDatabase, at

pytestmark = [pytest.mark.django_db, pytest.mark.influxdb]

DAY1 = date(2024, 3, 4)  # T0's day
DAY2, DAY3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
AFTER = T0 + timedelta(days=4)
HOUR = 3600
DAY = 24 * HOUR


METER = "sensor.heat_pump_energy"
KEPT = (
    "the row is kept (rebuild with --allow-fewer-points (POST: allow_fewer_points=true) if the "
    "points were deleted on purpose)"
)


def energy(day: date, entity_id: str = METER) -> models.DailyEnergyByDevice:
    return models.DailyEnergyByDevice.objects.get(entity_id=entity_id, date=day)


def read_on(row: str, since: str, points: int, day: str = "2024-03-05") -> str:
    """What the run says of a row kept for being read on across `day`."""
    return (
        f"{row}: read on from the point of {since}, the last before it InfluxDB returned, "
        f"across {day}, whose stored row was built from {points} source points InfluxDB did "
        f"not return (a meter's growth over them would land in this row); {KEPT}"
    )


def days(entity_id: str = METER) -> list[tuple[float, int]]:
    return [
        (energy(day, entity_id).total_kwh, energy(day, entity_id).source_points)
        for day in (DAY1, DAY2, DAY3)
    ]


def hide(ha_db: HaDatabase, start: float, end: float, measurement: str = "kWh") -> None:
    """InfluxDB no longer returns the points in [T0 + start, T0 + end) (seconds)."""
    get_timeseries().delete(ha_db.name, at(start), at(end), measurement)


def three_days(ha_db: HaDatabase) -> models.Entity:
    """A meter growing 0.6 kWh each hour of DAY1..DAY3 (readings at half past: 14.4 kWh a day)."""
    readings = [(-HOUR, 10.0)] + [
        (h * HOUR + 1800, round(10.0 + 0.6 * (h + 1), 1)) for h in range(72)
    ]
    return ha_db.saved_entity("official", METER, readings, unit="kWh", kind="energy")


def test_a_rebuild_keeps_the_day_after_a_day_influxdb_did_not_return(
    ha_db: HaDatabase, enrich_db: str, capsys
):
    three_days(ha_db)
    rebuild_view(ENERGY, DAY1, DAY3, now=AFTER)
    assert days() == [(pytest.approx(14.4), 24)] * 3

    # DAY2's points are not returned: DAY3's first growth would be counted from DAY1's last
    # reading (DAY2's 14.4 kWh in DAY3's row: 28.8 kWh), from DAY3's 24 points as before.
    hide(ha_db, DAY, 2 * DAY)
    call_command("rebuild_view", ENERGY, "--start", "2024-03-04", "--end", "2024-03-06")

    assert days() == [(pytest.approx(14.4), 24)] * 3
    out = capsys.readouterr().out
    assert f"{ENERGY}: 1 row written" in out  # DAY1's
    assert (
        f"{METER} 2024-03-05: read from 0 source points, fewer than the 24 the stored row was "
        f"built from (InfluxDB did not return the others); {KEPT}"
    ) in out
    assert read_on(f"{METER} 2024-03-06", "2024-03-04T23:30:00+00:00", 24) in out
    run = models.RetentionRun.objects.order_by("-pk").first()
    assert run.status == "ok" and run.details["skipped_count"] == 2
    assert f"{METER} 2024-03-06: read on from the point of 2024-03-04T23:30:00" in run.errors

    # The hidden day outside the range: DAY3 alone is read on from DAY1's reading too.
    alone = rebuild_view(ENERGY, DAY3, DAY3, now=AFTER)
    assert alone.records_processed == 0 and alone.details["skipped"] == [
        read_on(f"{METER} 2024-03-06", "2024-03-04T23:30:00+00:00", 24)
    ]
    assert energy(DAY3).total_kwh == pytest.approx(14.4)

    # Deleted on purpose: asked explicitly (here through the Python interface), DAY2's growth
    # is counted at the reading after the gap, as Home Assistant counts it.
    run = MaterializedViewManager().rebuild(ENERGY, DAY1, DAY3, now=AFTER, allow_fewer_points=True)
    assert run.records_processed == 3 and not run.errors
    assert days() == [(pytest.approx(14.4), 24), (0.0, 0), (pytest.approx(28.8), 24)]


def test_the_last_hours_of_the_day_before_not_returned_keep_the_row(
    ha_db: HaDatabase, enrich_db: str
):
    three_days(ha_db)
    rebuild_view(ENERGY, DAY1, DAY3, now=AFTER)

    hide(ha_db, DAY + 20 * HOUR, 2 * DAY)  # DAY2's readings at 20:30 to 23:30
    run = rebuild_view(ENERGY, DAY2, DAY3, now=AFTER)

    assert run.records_processed == 0
    assert run.details["skipped"][1] == read_on(
        f"{METER} 2024-03-06", "2024-03-05T19:30:00+00:00", 4
    )
    assert days() == [(pytest.approx(14.4), 24)] * 3


def test_a_day_without_points_when_its_row_was_built_keeps_nothing(
    ha_db: HaDatabase, enrich_db: str
):
    """The meter was off all DAY2: its growth is counted at DAY3's first reading, at every
    build alike (what a rebuild reads is what the rows were built from)."""
    readings = [(-HOUR, 10.0)] + [
        (h * HOUR + 1800, round(10.0 + 0.6 * (h + 1), 1)) for h in range(72) if h // 24 != 1
    ]
    ha_db.saved_entity("official", METER, readings, unit="kWh", kind="energy")
    rebuild_view(ENERGY, DAY1, DAY3, now=AFTER)
    expected = [(pytest.approx(14.4), 24), (0.0, 0), (pytest.approx(28.8), 24)]
    assert days() == expected

    run = rebuild_view(ENERGY, DAY1, DAY3, now=AFTER)
    assert run.records_processed == 3 and not run.errors and days() == expected
    assert rebuild_view(ENERGY, DAY3, DAY3, now=AFTER).records_processed == 1


def test_a_power_sensor_keeps_the_day_after_a_day_influxdb_did_not_return(
    ha_db: HaDatabase, enrich_db: str, layout: str
):
    """A power reading at each odd hour, 500 W on DAY1 and DAY3, 1 kW on DAY2: DAY3's first
    hour holds DAY2's 1 kW (12.5 kWh); DAY2 not returned, it would hold DAY1's 500 W. Both
    ways of reading power: the official layout's plain numbers, the HA Ingestor's samples."""
    watts = [(h * HOUR + HOUR, 1000 if h // 24 == 1 else 500) for h in range(72)]
    pump = ha_db.saved_entity(layout, "sensor.pump_power", watts, unit="W")
    rebuild_view(ENERGY, DAY1, DAY3, now=AFTER)
    assert energy(DAY3, pump.entity_id).total_kwh == pytest.approx(12.5)

    hide(ha_db, DAY, 2 * DAY, pump.measurement)
    run = rebuild_view(ENERGY, DAY3, DAY3, now=AFTER)

    assert run.records_processed == 0 and run.details["skipped"] == [
        read_on("sensor.pump_power 2024-03-06", "2024-03-04T23:00:00+00:00", 24)
    ]
    assert energy(DAY3, pump.entity_id).total_kwh == pytest.approx(12.5)
